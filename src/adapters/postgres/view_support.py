"""What every PostgreSQL view sink shares: its position lock, batch upserts and row decoding."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb

from projections.positioned import PositionedEvent

S = TypeVar("S", bound=msgspec.Struct)


async def claim_position(conn: Any, name: str) -> int:
    """Lock this view's position row for the transaction and return the position.

    The lock serialises every writer of the view (apply, recount): one commits its rows and
    position before the next one reads them.
    """
    lock = "SELECT position FROM stream_positions WHERE name = %s FOR UPDATE"
    row = await (await conn.execute(lock, (name,))).fetchone()
    if row is None:  # a new view's row, made once
        await conn.execute(
            "INSERT INTO stream_positions (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,)
        )
        row = await (await conn.execute(lock, (name,))).fetchone()
    return int(row["position"])


async def pass_position(conn: Any, name: str, position: int) -> int:
    """Move the position past events the view does not read, and return it: one statement,
    no transaction, as it changes nothing else. It waits for a writer holding the row."""
    cur = await conn.execute(
        "INSERT INTO stream_positions (name, position) VALUES (%s, %s) ON CONFLICT (name)"
        " DO UPDATE SET position = greatest(stream_positions.position, EXCLUDED.position),"
        " updated_at = now() RETURNING position",
        (name, position),
    )
    row = await cur.fetchone()
    return int(row["position"])


async def advance_position(conn: Any, name: str, position: int) -> None:
    await conn.execute(
        "UPDATE stream_positions SET position = %s, updated_at = now() WHERE name = %s",
        (position, name),
    )


async def read_position(pool: Any, name: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT position FROM stream_positions WHERE name = %s", (name,))
        row = await cur.fetchone()
    return int(row["position"]) if row else 0


def fresh_items(items: Sequence[PositionedEvent], position: int) -> list[PositionedEvent]:
    """Items past the stored position, in order: a replay of what was applied is skipped."""
    return [i for i in items if i.position > position]


def columns(struct: type[msgspec.Struct], *, skip: Iterable[str] = ()) -> list[str]:
    left_out = set(skip)
    return [f for f in struct.__struct_fields__ if f not in left_out]


def upsert_sql(
    table: str, cols: Sequence[str], key: Sequence[str], update: Sequence[str] | None = None
) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE `update` (default: every other column);
    an empty `update` keeps the existing row. Its one parameter is the batch's rows as a
    JSON array, typed by the table's own row type (see `write_rows`)."""
    rest = [c for c in cols if c not in key] if update is None else list(update)
    action = "UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in rest) if rest else "NOTHING"
    names = ", ".join(cols)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names}"
        f" FROM jsonb_populate_recordset(NULL::{table}, %s)"
        f" ON CONFLICT ({', '.join(key)}) DO {action}"
    )


async def write_rows(
    conn: Any, sql: str, rows: Iterable[msgspec.Struct], cols: Sequence[str]
) -> None:
    """One statement for the whole batch, not one per row (ADR 0015): PostgreSQL's work per
    statement, not per row, was most of what a view's writes cost it. The rows' keys must
    be distinct, as an upsert may touch each row once."""
    batch = [{c: getattr(r, c) for c in cols} for r in rows]
    if batch:
        await conn.execute(sql, (Jsonb(batch),))


def decode(struct: type[S], row: dict[str, Any]) -> S:
    """A database row as its struct: uuid columns come back as the strings events carry."""
    return struct(**{k: str(v) if isinstance(v, UUID) else v for k, v in row.items()})


def is_uuid(value: str) -> bool:
    """Ids in URLs are checked before they reach a uuid column: a bad one is simply not found."""
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class PostgresView:
    """The skeleton every PostgreSQL read model shares (a ProjectionSink): its rows and its
    position commit in one transaction, replays are skipped, and other aggregates' events
    only move the position. Subclasses name their pure `projection` and `write` its rows."""

    projection: Any  # the pure projection: `.name`, `.reads` and `.handles(event)`

    def __init__(self, pool: Any, name: str | None = None) -> None:
        self.pool = pool
        self.name: str = name or self.projection.name
        self.reads: tuple[type, ...] = self.projection.reads

    async def position(self) -> int:
        return await read_position(self.pool, self.name)

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        """A batch of only other aggregates' events costs one statement; any other is one
        pipelined transaction, whose round trips are only those that wait for rows."""
        async with self.pool.connection() as conn:
            if items and not any(self.projection.handles(i.event) for i in items):
                return await pass_position(conn, self.name, items[-1].position)
            async with conn.pipeline(), conn.transaction():
                return await self.apply_in(conn, items)

    async def apply_in(self, conn: Any, items: Sequence[PositionedEvent]) -> int:
        """Apply within the caller's transaction (a rebuild's swap needs that)."""
        position = await claim_position(conn, self.name)
        fresh = fresh_items(items, position)
        if not fresh:
            return position
        ours = [i for i in fresh if self.projection.handles(i.event)]
        if ours:
            await self.write(conn, ours)
        position = fresh[-1].position  # past other aggregates' events too
        await advance_position(conn, self.name, position)
        return position

    async def write(self, conn: Any, items: list[PositionedEvent]) -> None:
        raise NotImplementedError
