"""Audit archives: NDJSON files of a month of events with their hashes (ADR 0010)."""
