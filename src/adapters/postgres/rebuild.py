"""Rebuild a PostgreSQL read model from the event store into shadow tables, then swap.

The shadow lives in schema `rebuild` with the same table, partition, index and constraint
names, so the swap is a move between schemas (indexes travel with their tables): one short
transaction that pauses the live projection (its position row is locked), applies the last
events to the shadow, and exchanges the tables. Readers use the old tables until then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.event_store import PostgresEventStore
from projections.ports import ProjectionSink
from projections.positioned import PositionedEvent

SHADOW = "rebuild"
Progress = Callable[[int, int], None]


class Sink(ProjectionSink, Protocol):
    """A projection sink that can also apply inside the caller's transaction."""

    async def apply_in(self, conn: Any, items: Sequence[PositionedEvent]) -> int: ...


MakeSink = Callable[[Any, str], Sink]


async def _fetch(conn: AsyncConnection[Any], query: str, *args: Any) -> list[Any]:
    """Tuples whatever the connection's row factory."""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(query, args)
    return list(await cur.fetchall())


async def _partitions(conn: AsyncConnection[Any], schema: str, table: str) -> list[str]:
    rows = await _fetch(
        conn,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(%s)",
        f"{schema}.{table}",
    )
    return [r[0] for r in rows]


async def clone_tables(conn: AsyncConnection[Any], tables: Sequence[str]) -> None:
    """Empty copies of `tables` in the shadow schema, with identical names throughout."""
    await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SHADOW)))
    await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SHADOW)))
    for table in tables:
        live = f"public.{table}"
        key = (await _fetch(conn, "SELECT pg_get_partkeydef(to_regclass(%s))", live))[0][0]
        await conn.execute(
            sql.SQL("CREATE TABLE {}.{} (LIKE {} INCLUDING DEFAULTS) {}").format(
                sql.Identifier(SHADOW),
                sql.Identifier(table),
                sql.SQL(live),
                sql.SQL(f"PARTITION BY {key}" if key else ""),
            )
        )
        for name, definition in await _fetch(
            conn,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'c')",
            live,
        ):
            await conn.execute(
                sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(SHADOW),
                    sql.Identifier(table),
                    sql.Identifier(name),
                    sql.SQL(definition),
                )
            )
        for part in await _partitions(conn, "public", table):
            bound = (
                await _fetch(
                    conn,
                    "SELECT pg_get_expr(relpartbound, oid) FROM pg_class"
                    " WHERE oid = to_regclass(%s)",
                    f"public.{part}",
                )
            )[0][0]
            await conn.execute(
                sql.SQL("CREATE TABLE {}.{} PARTITION OF {}.{} {}").format(
                    sql.Identifier(SHADOW),
                    sql.Identifier(part),
                    sql.Identifier(SHADOW),
                    sql.Identifier(table),
                    sql.SQL(bound),
                )
            )
        for (definition,) in await _fetch(
            conn,
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid ="
            " to_regclass(%s) AND indexrelid NOT IN (SELECT conindid FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s))",
            live,
            live,
        ):
            await conn.execute(
                definition.replace(" ON public.", f" ON {SHADOW}.").replace(
                    " ON ONLY public.", f" ON ONLY {SHADOW}."
                )
            )


async def _move(conn: AsyncConnection[Any], tables: Sequence[str], src: str, dst: str) -> None:
    for table in tables:
        for name in [*await _partitions(conn, src, table), table]:
            await conn.execute(
                sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    sql.Identifier(src), sql.Identifier(name), sql.Identifier(dst)
                )
            )


async def replay(
    store: PostgresEventStore,
    apply: Callable[[list[PositionedEvent]], Awaitable[int]],
    position: int,
    head: int,
    batch: int,
    progress: Progress | None,
) -> int:
    """Apply the store after `position` in batches; returns the last position applied."""
    while True:
        items = await asyncio.to_thread(store.read, position, None, batch)
        if not items:
            return position
        position = await apply(items)
        if progress:
            progress(position, max(head, position))


async def rebuild(
    database_url: str,
    store: PostgresEventStore,
    *,
    name: str,
    tables: Sequence[str],
    make_sink: MakeSink,
    batch: int = 5_000,
    progress: Progress | None = None,
    swap: bool = True,
) -> int:
    """Replay the whole store into fresh copies of `tables`; swap them in (or, with
    swap=False, leave them in schema `rebuild` for comparison). Returns the position."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as admin:
        await clone_tables(admin, tables)
        await admin.execute("DELETE FROM stream_positions WHERE name = %s", (f"{name}:{SHADOW}",))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=2,
        open=False,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "options": f"-c search_path={SHADOW},public",
        },
    )
    await pool.open(wait=True)
    try:
        sink = make_sink(pool, f"{name}:{SHADOW}")
        head = await asyncio.to_thread(store.head)
        position = await replay(store, sink.apply, 0, head, batch, progress)
        if not swap:
            return position
        return await _swap(database_url, store, sink, name, tables, position, head, batch, progress)
    finally:
        await pool.close()


async def _swap(
    database_url: str,
    store: PostgresEventStore,
    sink: Sink,
    name: str,
    tables: Sequence[str],
    position: int,
    head: int,
    batch: int,
    progress: Progress | None,
) -> int:
    """One transaction: pause the live projection, finish the shadow, exchange the tables."""
    async with (
        await AsyncConnection.connect(database_url, row_factory=dict_row) as conn,
        conn.transaction(),
    ):
        await conn.execute(
            "INSERT INTO stream_positions (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,)
        )
        await conn.execute(
            "SELECT position FROM stream_positions WHERE name = %s FOR UPDATE", (name,)
        )  # the live projection waits here
        await conn.execute(f"SET LOCAL search_path = {SHADOW}, public")
        position = await replay(
            store, lambda items: sink.apply_in(conn, items), position, head, batch, progress
        )
        await conn.execute("SET LOCAL search_path = public")
        await conn.execute("CREATE SCHEMA retired")
        await _move(conn, tables, "public", "retired")
        await _move(conn, tables, SHADOW, "public")
        await conn.execute(
            "UPDATE stream_positions SET position = %s, updated_at = now() WHERE name = %s",
            (position, name),
        )
        await conn.execute("DELETE FROM stream_positions WHERE name = %s", (f"{name}:{SHADOW}",))
        await conn.execute("DROP SCHEMA retired CASCADE")
        await conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SHADOW)))
    return position


async def differences(database_url: str, tables: Sequence[str]) -> dict[str, int]:
    """Rows in public.<t> but not in rebuild.<t>, plus the reverse, per table."""
    out: dict[str, int] = {}
    async with await AsyncConnection.connect(database_url) as conn:
        for table in tables:
            q = sql.SQL(
                "SELECT (SELECT count(*) FROM (SELECT * FROM public.{t} EXCEPT ALL"
                " SELECT * FROM {s}.{t}) a) + (SELECT count(*) FROM (SELECT * FROM"
                " {s}.{t} EXCEPT ALL SELECT * FROM public.{t}) b)"
            ).format(t=sql.Identifier(table), s=sql.Identifier(SHADOW))
            row = await (await conn.execute(q)).fetchone()
            out[table] = int(row[0]) if row else -1
    return out
