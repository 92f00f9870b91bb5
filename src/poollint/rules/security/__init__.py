"""POL5xx: security."""
