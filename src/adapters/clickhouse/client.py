"""One client for chDB (`chdb:///path`) or a ClickHouse server (`http(s)://...`)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import clickhouse_connect

from adapters.postgres.migrations import SCHEMAS_DIR

# Exact-once inserts (ADR 0005): a retried block is dropped by its token, also when the
# server's defaults differ, and the views it feeds check their own blocks the same way.
INSERT_SETTINGS = {"insert_deduplicate": 1, "deduplicate_blocks_in_dependent_materialized_views": 1}
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


def statements(sql: str) -> list[str]:
    """A migration file's statements: split at a `;` that ends a line (HTTP takes one each)."""
    parts = (part.strip() for part in _STATEMENT_END.split(sql))
    return [p for p in parts if any(_is_code(line) for line in p.splitlines())]


def _is_code(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("--")


class ClickHouse:
    """Serializes calls: chDB's in-process session is not safe to share across threads."""

    def __init__(self, url: str, database: str | None = None) -> None:
        """`database` overrides the URL's: a rebuild writes a shadow database this way."""
        self.url = url
        if url.startswith("chdb://"):
            Path(url.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        self.client: Any = clickhouse_connect.get_client(dsn=url, database=database)
        self._lock = threading.Lock()

    def command(self, sql: str) -> Any:
        with self._lock:
            return self.client.command(sql)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self.client.query(sql, parameters=parameters).result_rows)

    def insert(self, table: str, rows: list[list[Any]], columns: list[str], token: str) -> None:
        with self._lock:
            self.client.insert(
                table,
                rows,
                column_names=columns,
                settings={**INSERT_SETTINGS, "insert_deduplication_token": token},
            )

    def migrate(self, directory: Path = SCHEMAS_DIR / "clickhouse") -> None:
        for path in sorted(directory.glob("*.sql")):
            for statement in statements(path.read_text()):
                self.command(statement)

    def close(self) -> None:
        with self._lock:
            self.client.close()
