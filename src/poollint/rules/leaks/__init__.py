"""POL2xx: a connection leaks."""
