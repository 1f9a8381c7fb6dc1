"""Unit tests: mirrors src/projections."""
