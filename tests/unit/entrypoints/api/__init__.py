"""Unit tests: mirrors src/entrypoints/api."""
