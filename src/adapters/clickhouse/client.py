"""One client for chDB (`chdb:///path`) or a ClickHouse server (`http(s)://...`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import clickhouse_connect

from adapters.postgres.migrations import SCHEMAS_DIR


class ClickHouse:
    """Serializes calls: chDB's in-process session is not safe to share across threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("chdb://"):
            Path(url.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        self.client: Any = clickhouse_connect.get_client(dsn=url)
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
                settings={"insert_deduplication_token": token},
            )

    def migrate(self, directory: Path = SCHEMAS_DIR / "clickhouse") -> None:
        for path in sorted(directory.glob("*.sql")):
            self.command(path.read_text())

    def close(self) -> None:
        with self._lock:
            self.client.close()
