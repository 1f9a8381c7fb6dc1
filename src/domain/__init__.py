"""Pure domain: aggregates, their events, commands and state machines. No I/O here."""
