"""Twilio: webhook signatures, callback parsing, and the provider simulator."""
