"""PostgreSQL: the event store, the inbox, projects and keys, and the read views."""
