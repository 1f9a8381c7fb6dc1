"""Unit tests: mirrors src/adapters/nats."""
