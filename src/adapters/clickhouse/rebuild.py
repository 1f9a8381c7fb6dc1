"""Rebuild the ClickHouse facts from the event store into a shadow database, then swap.

The shadow database is made by applying every ClickHouse migration into it, so tables added
by later migrations are rebuilt too. The swap (ADR 0007) exchanges the tables, then replaces
the materialized views by fresh ones over the live names, then replays whatever the store
gained since the shadow's position into the live tables: the facts are idempotent on
redelivery (ADR 0005), so that overlap can neither lose nor double anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import ClickHouseFacts
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.rebuild import Progress, replay

log = logging.getLogger(__name__)
SHADOW = "rebuild"
Pause = Callable[[], AbstractAsyncContextManager[object]]


def _no_pause() -> AbstractAsyncContextManager[object]:
    return contextlib.nullcontext()


async def rebuild_facts(
    url: str,
    store: PostgresEventStore,
    *,
    batch: int = 10_000,
    progress: Progress | None = None,
    pause: Pause = _no_pause,
) -> int:
    """Replay the whole store into a shadow copy of the facts and swap it in; returns the
    position the live tables hold afterwards. `pause` stops the live projection for the
    final catch-up and the swap (the rebuild holds its gate); without it, the replay after
    the swap covers what the live projection wrote into the old tables meanwhile."""
    live = await asyncio.to_thread(ClickHouse, url)
    try:
        await asyncio.to_thread(_create_shadow, live)
        shadow = await asyncio.to_thread(ClickHouse, url, SHADOW)
        try:
            await asyncio.to_thread(shadow.migrate)
            sink = ClickHouseFacts(shadow)
            head = await asyncio.to_thread(store.head)
            position = await replay(store, sink.apply, 0, head, batch, progress)
            async with pause():
                paused = time.monotonic()
                head = await asyncio.to_thread(store.head)
                position = await replay(store, sink.apply, position, head, batch, progress)
                shadow.close()  # before its database goes; closing again below is harmless
                await asyncio.to_thread(swap, live)
                last = await replay(store, ClickHouseFacts(live).apply, position, 0, batch, None)
            log.info(
                "clickhouse facts swapped in",
                extra={
                    "position": last,
                    "refed_after_swap": last - position,
                    "paused_ms": round((time.monotonic() - paused) * 1000),
                },
            )
            return last
        finally:
            shadow.close()
    finally:
        live.close()


def _create_shadow(live: ClickHouse) -> None:
    live.migrate()  # the live side has every table the shadow will have
    live.command(f"DROP DATABASE IF EXISTS {SHADOW} SYNC")
    live.command(f"CREATE DATABASE {SHADOW}")


def swap(live: ClickHouse) -> None:
    """Exchange the shadow's tables with the live ones, then re-create the views.

    Whether a materialized view follows its tables by name (chDB's default database) or by
    identity (Atomic databases on a server), after this every view of ours reads the live
    `events` and writes the live targets, and none is left in the shadow to cut or double
    the pipeline when the old tables are dropped."""
    tables = _names(live, views=False)
    views = _names(live, views=True)
    database = live.query("SELECT currentDatabase()")[0][0]
    for table in tables:  # chDB's default database takes an exchange only in this order
        live.command(f"EXCHANGE TABLES {database}.{table} AND {SHADOW}.{table}")
    for view in views:
        live.command(f"DROP VIEW IF EXISTS {SHADOW}.{view} SYNC")
        live.command(f"DROP VIEW IF EXISTS {view} SYNC")
    live.migrate()  # creates the views afresh over the live names
    live.command(f"DROP DATABASE {SHADOW} SYNC")


def _names(ch: ClickHouse, *, views: bool) -> list[str]:
    engine = "=" if views else "!="
    rows = ch.query(
        "SELECT name FROM system.tables WHERE database = {db:String}"
        f" AND engine {engine} 'MaterializedView' ORDER BY name",
        {"db": SHADOW},
    )
    return [str(r[0]) for r in rows]
