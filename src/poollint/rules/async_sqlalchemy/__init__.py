"""POL4xx: async SQLAlchemy is misused."""
