"""Benchmark harness: `python -m ops.bench` (or `make bench`) measures and writes RESULTS.md."""
