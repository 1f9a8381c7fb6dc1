"""Local engines for the embedded default: PostgreSQL and NATS as real server processes."""
