"""POL3xx: the pool is misconfigured."""
