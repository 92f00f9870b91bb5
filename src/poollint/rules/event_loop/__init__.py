"""POL1xx: the event loop is blocked."""
