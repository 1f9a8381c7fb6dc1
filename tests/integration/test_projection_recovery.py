"""No failure of NATS or of a consumer loses or doubles anything: after each, every view
equals a fresh rebuild from the event store, row for row, and ClickHouse agrees."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import psycopg
import pytest
from waiting import eventually

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import ClickHouseFacts
from adapters.embedded.nats import EmbeddedNats
from adapters.nats.jetstream import JetStream
from adapters.nats.relay import NatsEventRelay
from adapters.nats.wire import STREAM
from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project
from adapters.postgres.rebuild import differences, rebuild
from adapters.twilio.callbacks import voice_dedupe_key
from adapters.twilio.simulator import script_call
from entrypoints.workers.inbox import NORMALIZERS
from entrypoints.workers.projections import run_projection
from projections.positioned import PositionedEvent

TABLES = ["calls", "call_events"]


@pytest.fixture
def store(database_url: str) -> Iterator[PostgresEventStore]:
    s = PostgresEventStore(database_url, pool_size=3)
    yield s
    s.close()


def record_calls(
    database_url: str, store: PostgresEventStore, project: Project, calls: int, seed: int
) -> int:
    """Simulated callbacks through the real inbox worker into the event store."""
    rng = random.Random(seed)
    with psycopg.connect(database_url) as conn:
        for _ in range(calls):
            for cb in script_call(rng, project.twilio_account_sid, datetime.now(UTC)).callbacks:
                conn.execute(
                    "INSERT INTO webhook_inbox (project_id, source, event_type, call_sid,"
                    " dedupe_key, payload, trace_id) VALUES (%s, 'twilio', 'voice-status', %s,"
                    " %s, %s, %s)",
                    (
                        project.id,
                        cb.params["CallSid"],
                        voice_dedupe_key(cb.params),
                        psycopg.types.json.Jsonb(cb.params),
                        uuid.uuid4().hex,
                    ),
                )
    worker = PostgresInboxWorker(store, NORMALIZERS)
    while worker.process_batch(200).claimed:
        pass
    return store.head()


class Harness:
    """The relay and both projections, as the worker and API processes run them."""

    def __init__(
        self, database_url: str, store: PostgresEventStore, nats_url: str, ch: ClickHouse
    ) -> None:
        self.database_url = database_url
        self.store = store
        self.nats_url = nats_url
        self.ch = ch
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[Any]] = []

    async def start_relay(self, pool: Any) -> None:
        relay = NatsEventRelay(self.store, pool, JetStream(self.nats_url, "test-relay"))
        self.tasks.append(asyncio.create_task(relay.run(self.stop, asyncio.Event())))

    async def start_projections(self, pool: Any, pg_sink: Any = None) -> None:
        sinks = [pg_sink or PostgresCallsView(pool), ClickHouseFacts(self.ch)]
        for sink in sinks:
            self.tasks.append(
                asyncio.create_task(run_projection(sink, self.store, self.nats_url, self.stop))
            )

    async def caught_up(self, pool: Any) -> None:
        head = await asyncio.to_thread(self.store.head)
        view = PostgresCallsView(pool)
        await eventually(view.position, lambda p: p >= head, timeout=60)
        await eventually(
            lambda: asyncio.to_thread(self.ch.query, "SELECT count() FROM call_events FINAL"),
            lambda rows: rows[0][0] == _pg_count(self.database_url),
            timeout=60,
        )

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def last_seq(js: Any) -> int:
    try:
        info = await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:  # the relay has not created it yet
        return 0
    return int(info.state.last_seq)


def _pg_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM call_events").fetchone()
    return int(row[0]) if row else 0


@contextlib.asynccontextmanager
async def running(
    database_url: str, store: PostgresEventStore, nats_url: str, ch: ClickHouse
) -> AsyncIterator[tuple[Harness, Any]]:
    pool = await open_async_pool(database_url)
    harness = Harness(database_url, store, nats_url, ch)
    try:
        yield harness, pool
    finally:
        await harness.close()
        await pool.close()


async def assert_views_equal_a_fresh_rebuild(
    database_url: str, store: PostgresEventStore, ch: ClickHouse
) -> None:
    await rebuild(
        database_url,
        store,
        name="calls_view",
        tables=TABLES,
        make_sink=PostgresCallsView,
        swap=False,
    )
    assert await differences(database_url, TABLES) == {"calls": 0, "call_events": 0}
    rows = await asyncio.to_thread(
        ch.query, "SELECT count(), uniqExact(position) FROM call_events FINAL"
    )
    assert rows[0][0] == rows[0][1] == _pg_count(database_url) == store.head()


def test_restarting_nats_mid_stream_loses_nothing(
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    tmp_path: Path,
) -> None:
    server = EmbeddedNats(tmp_path)
    url = server.start()

    async def scenario() -> None:
        async with running(database_url, store, url, clickhouse) as (h, pool):
            await h.start_relay(pool)
            await h.start_projections(pool)
            await asyncio.to_thread(record_calls, database_url, store, project[0], 40, 1)
            server.stop()  # mid-stream: more events arrive while NATS is down
            await asyncio.to_thread(record_calls, database_url, store, project[0], 40, 2)
            await asyncio.sleep(1)
            server.start()
            await asyncio.to_thread(record_calls, database_url, store, project[0], 20, 3)
            await h.caught_up(pool)
        await assert_views_equal_a_fresh_rebuild(database_url, store, clickhouse)

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_messages_lost_from_the_stream_are_repaired_from_the_store(
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    nats_url: str,
) -> None:
    async def scenario() -> None:
        head = await asyncio.to_thread(record_calls, database_url, store, project[0], 60, 4)
        async with running(database_url, store, nats_url, clickhouse) as (h, pool):
            await h.start_relay(pool)
            nc = await nats.connect(nats_url)
            js = nc.jetstream()
            await eventually(lambda: last_seq(js), lambda seq: seq >= head, timeout=30)
            for seq in range(1, head + 1, 3):  # a third of the stream, gone
                await js.delete_msg(STREAM, seq)
            await nc.close()
            await h.start_projections(pool)
            await h.caught_up(pool)
        await assert_views_equal_a_fresh_rebuild(database_url, store, clickhouse)

    asyncio.run(scenario())


class CrashAfterWrite:
    """A real sink that dies once after its transaction commits, before the ack is sent."""

    def __init__(self, inner: PostgresCallsView, after: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.reads = inner.reads
        self.calls = 0
        self.after = after

    async def position(self) -> int:
        return await self.inner.position()

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        position = await self.inner.apply(items)
        self.calls += 1
        if self.calls == self.after:
            raise RuntimeError("killed between write and ack")
        return position


def test_a_consumer_killed_between_write_and_ack_applies_nothing_twice(
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    nats_url: str,
) -> None:
    async def scenario() -> None:
        async with running(database_url, store, nats_url, clickhouse) as (h, pool):
            crashing = CrashAfterWrite(PostgresCallsView(pool), after=1)
            await h.start_relay(pool)
            await h.start_projections(pool, crashing)
            await asyncio.to_thread(record_calls, database_url, store, project[0], 10, 5)
            await eventually(lambda: crashing.calls, lambda n: n >= 1)  # it died after a write
            await asyncio.to_thread(record_calls, database_url, store, project[0], 20, 6)
            await h.caught_up(pool)
            assert crashing.calls >= 2  # and came back: redelivered messages changed nothing
        await assert_views_equal_a_fresh_rebuild(database_url, store, clickhouse)

    asyncio.run(scenario())


def test_every_message_delivered_twice_changes_nothing(
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    nats_url: str,
) -> None:
    async def scenario() -> None:
        head = await asyncio.to_thread(record_calls, database_url, store, project[0], 30, 11)
        async with running(database_url, store, nats_url, clickhouse) as (h, pool):
            await h.start_relay(pool)
            nc = await nats.connect(nats_url)
            js = nc.jetstream()
            await eventually(lambda: last_seq(js), lambda seq: seq >= head, timeout=30)
            for seq in range(1, head + 1):  # again, under new ids JetStream cannot dedupe
                msg = await js.get_msg(STREAM, seq)
                headers = {**(msg.headers or {}), "Nats-Msg-Id": f"again-{seq}"}
                await js.publish(msg.subject, msg.data or b"", headers=headers)
            await nc.close()
            await h.start_projections(pool)
            await h.caught_up(pool)
        await assert_views_equal_a_fresh_rebuild(database_url, store, clickhouse)

    asyncio.run(scenario())


def test_a_rebuild_replaces_drifted_views_and_the_live_projection_carries_on(
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    nats_url: str,
) -> None:
    async def scenario() -> None:
        async with running(database_url, store, nats_url, clickhouse) as (h, pool):
            await h.start_relay(pool)
            await h.start_projections(pool)
            await asyncio.to_thread(record_calls, database_url, store, project[0], 30, 12)
            await h.caught_up(pool)
            async with pool.connection() as conn:  # someone "fixes" rows by hand
                await conn.execute(
                    "UPDATE calls SET status = 'bogus' WHERE ctid IN"
                    " (SELECT ctid FROM calls LIMIT 5)"
                )
                await conn.execute("DELETE FROM call_events WHERE position % 7 = 0")
            seen: list[tuple[int, int]] = []
            await rebuild(
                database_url,
                store,
                name="calls_view",
                tables=TABLES,
                make_sink=PostgresCallsView,
                progress=lambda d, t: seen.append((d, t)),
            )
            assert seen[-1][0] == seen[-1][1] == store.head()
            await asyncio.to_thread(record_calls, database_url, store, project[0], 10, 13)
            await h.caught_up(pool)  # the live projection writes into the swapped-in tables
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) AS n FROM calls WHERE status = 'bogus'")
                assert (await cur.fetchone())["n"] == 0
        await assert_views_equal_a_fresh_rebuild(database_url, store, clickhouse)

    asyncio.run(scenario())
