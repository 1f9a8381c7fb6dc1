"""Thin edges: the HTTP API, the CLI and the workers, composed in bootstrap.py."""
