"""The HTTP API: webhooks in, calls and the realtime feed out."""
