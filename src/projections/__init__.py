"""Read models: pure mappings from events to rows. Runners and I/O live in adapters."""
