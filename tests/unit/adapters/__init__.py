"""Unit tests: mirrors src/adapters."""
