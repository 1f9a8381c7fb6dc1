"""The analysts' ready queries: one file each in schemas/clickhouse/queries/ (ADR 0009)."""

from __future__ import annotations

from functools import cache

from adapters.postgres.migrations import SCHEMAS_DIR

QUERIES_DIR = SCHEMAS_DIR / "clickhouse" / "queries"


@cache
def ready_queries() -> dict[str, str]:
    """Every ready query's SQL by name (the file name without `.sql`)."""
    return {path.stem: path.read_text() for path in sorted(QUERIES_DIR.glob("*.sql"))}


def ready_query(name: str) -> str:
    queries = ready_queries()
    if name not in queries:
        msg = f"no ready query {name!r}; there are: {', '.join(queries)}"
        raise KeyError(msg)
    return queries[name]
