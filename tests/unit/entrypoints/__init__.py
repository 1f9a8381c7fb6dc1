"""Unit tests: mirrors src/entrypoints."""
