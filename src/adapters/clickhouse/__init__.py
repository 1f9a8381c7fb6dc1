"""ClickHouse via clickhouse-connect: chDB in-process by default, or a server over HTTP."""
