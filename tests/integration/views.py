"""Integration helpers for the read-model sinks: a pool per scenario, table snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from adapters.postgres.database import open_async_pool


def with_pool(database_url: str, scenario: Callable[[Any], Awaitable[None]]) -> None:
    """Run an async scenario with an open pool on the test's database."""

    async def main() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=4)
        try:
            await scenario(pool)
        finally:
            await pool.close()

    asyncio.run(main())


def snapshot(database_url: str, *tables: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, in a stable order, to compare before and after."""
    with psycopg.connect(database_url) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def stored_position(database_url: str, name: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT position FROM stream_positions WHERE name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0
