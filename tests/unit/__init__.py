"""Unit tests: fast, in-process, no external services."""
