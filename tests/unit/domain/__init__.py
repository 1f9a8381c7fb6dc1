"""Unit tests: mirrors src/domain."""
