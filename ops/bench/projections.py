"""Projection throughput (PostgreSQL views, ClickHouse facts) and a rebuild of many events,
each next to the raw insert rate of the same engine."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.rebuild import rebuild_facts
from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.rebuild import rebuild
from adapters.twilio.callbacks import voice_status_command
from adapters.twilio.simulator import script_call
from domain.call import record_call_status
from ops.bench.context import BenchContext
from ops.bench.event_store import own_database
from ops.bench.report import Table
from projections.positioned import PositionedEvent

TITLE = "Projections: events per second into each read model, and a rebuild"
EVENTS = 1_000_000
SAMPLE = 100_000  # events fed to each sink for the per-engine rates
BATCH = 5_000
CH_BATCH = 50_000
COLUMNS = ["Path", "Events", "Seconds", "Events/s", "Target", "Met"]


def fill_store(store: PostgresEventStore, events: int) -> int:
    """Simulated call lifecycles through the real Call aggregate, appended in big batches."""
    rng = random.Random(7)
    project = str(uuid.uuid4())
    pending: list[Any] = []
    written = 0
    while written < events:
        call = None
        for i, cb in enumerate(script_call(rng, "AC" + "0" * 32, datetime.now(UTC)).callbacks):
            cmd = voice_status_command(
                cb.params, operation_id=f"op-{written}-{i}", project_id=project, trace_id="0" * 32
            )
            call, _ = record_call_status(call, cmd)
        assert call is not None
        pending += call.collect_events()
        if len(pending) >= BATCH:
            written += _append(store, pending)
            pending = []
    return written + (_append(store, pending) if pending else 0)


def _append(store: PostgresEventStore, events: list[Any]) -> int:
    with store.connection() as conn, conn.transaction():
        store.append(conn.cursor(), events)
    return len(events)


def raw_postgres(url: str, rows: int) -> float:
    """Seconds to insert `rows` rows shaped like call_events with psycopg executemany."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_raw_feed (LIKE call_events INCLUDING DEFAULTS)")
        conn.commit()
        now = datetime.now(UTC)
        data = [
            (
                i,
                uuid.uuid4(),
                f"CA{i}",
                1,
                "call.updated",
                now,
                now,
                "webhook",
                "ringing",
                "op",
                "t",
                '{"status": "ringing"}',
                '{"status": "ringing"}',
            )
            for i in range(rows)
        ]
        started = time.perf_counter()
        for i in range(0, rows, BATCH):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bench_raw_feed VALUES (%s, %s, %s, %s, %s, %s, %s,"
                    " %s, %s, %s, %s, %s, %s)",
                    data[i : i + BATCH],
                )
        return time.perf_counter() - started


async def into_postgres(url: str, items: list[PositionedEvent]) -> float:
    pool = await open_async_pool(url)
    try:
        sink = PostgresCallsView(pool, "bench:calls_view")
        started = time.perf_counter()
        for i in range(0, len(items), BATCH):
            await sink.apply(items[i : i + BATCH])
        return time.perf_counter() - started
    finally:
        await pool.close()


def into_clickhouse(ch: ClickHouse, items: list[PositionedEvent]) -> tuple[float, float]:
    """(sink seconds, raw seconds): the facts sink, and the same rows into a bare table."""
    from adapters.clickhouse import facts

    sink = facts.ClickHouseFacts(ch)
    started = time.perf_counter()
    for i in range(0, len(items), CH_BATCH):
        asyncio.run(sink.apply(items[i : i + CH_BATCH]))
    sink_seconds = time.perf_counter() - started
    ch.command("DROP TABLE IF EXISTS bench_raw_events")
    ch.command("CREATE TABLE bench_raw_events AS events ENGINE = MergeTree ORDER BY position")
    rows, columns = facts.raw_rows(items)
    started = time.perf_counter()
    for i in range(0, len(rows), 50_000):
        ch.insert("bench_raw_events", rows[i : i + 50_000], columns, f"raw-{i}")
    return sink_seconds, time.perf_counter() - started


def run(ctx: BenchContext) -> Table:
    print(f"{TITLE}:", flush=True)
    url = own_database(ctx.database_url, "bench_projections")
    store = PostgresEventStore(url, pool_size=2)
    try:
        print(f"  writing {EVENTS:,} events of simulated calls into the store", flush=True)
        total = fill_store(store, EVENTS)
        items = store.read(0, None, SAMPLE)
        print(f"  {len(items):,} events into the PostgreSQL views, then raw", flush=True)
        pg_seconds = asyncio.run(into_postgres(url, items))
        raw_pg_seconds = raw_postgres(url, len(items))
        print("  the same events into ClickHouse (chDB), then raw", flush=True)
        ch = ClickHouse(f"chdb://{ctx.workdir / 'clickhouse'}")
        ch.migrate()
        ch_seconds, raw_ch_seconds = into_clickhouse(ch, items)
        ch.close()
        print(f"  rebuilding calls_view from all {total:,} events", flush=True)
        started = time.perf_counter()
        asyncio.run(
            rebuild(
                url,
                store,
                name="calls_view",
                tables=["calls", "call_events"],
                make_sink=PostgresCallsView,
                batch=BATCH,
            )
        )
        rebuild_seconds = time.perf_counter() - started
        print(f"  rebuilding the ClickHouse facts from all {total:,} events", flush=True)
        started = time.perf_counter()
        asyncio.run(rebuild_facts(ch.url, store, batch=CH_BATCH))
        ch_rebuild_seconds = time.perf_counter() - started
    finally:
        store.close()
    n = len(items)

    def row(path: str, events: int, seconds: float, target: str, ok: bool | None) -> list[str]:
        met = "" if ok is None else ("yes" if ok else "NO")
        return [path, f"{events:,}", f"{seconds:.2f}", f"{events / seconds:,.0f}", target, met]

    return Table(
        TITLE,
        COLUMNS,
        [
            row(
                "PostgreSQL views (calls + call_events)",
                n,
                pg_seconds,
                "≥ 5,000/s",
                n / pg_seconds >= 5_000,
            ),
            row("Raw PostgreSQL insert, same row count", n, raw_pg_seconds, "floor", None),
            row(
                "ClickHouse facts (events, calls, per-minute views)",
                n,
                ch_seconds,
                "≥ 20,000/s",
                n / ch_seconds >= 20_000,
            ),
            row("Raw ClickHouse insert, same rows", n, raw_ch_seconds, "floor", None),
            row(
                f"Rebuild calls_view from {total:,} events (shadow + swap)",
                total,
                rebuild_seconds,
                "≤ 300 s",
                rebuild_seconds <= 300,
            ),
            row(
                f"Rebuild ClickHouse facts from {total:,} events (shadow database + swap)",
                total,
                ch_rebuild_seconds,
                "≤ 300 s",
                ch_rebuild_seconds <= 300,
            ),
        ],
        [
            f"The store held {total:,} events of simulated call lifecycles (the real Call"
            " aggregate,"
            f" appended {BATCH:,} per transaction). The first {n:,} fed each sink in batches"
            f" ({BATCH:,} for PostgreSQL, 50,000 for ClickHouse), as the projection runner does.",
            "Raw baselines insert the same number of rows of the same shape with the engine's"
            " plain client: no decisions, no position bookkeeping.",
            "The rebuilds replay the whole store into shadow tables and swap them in"
            " (`switchboard projections rebuild calls_view`, and `clickhouse_facts` in"
            f" {CH_BATCH:,}-event inserts into a shadow database, ADR 0007).",
        ],
    )
