"""Unit tests: mirrors src/adapters/twilio."""
