"""Projection consumers: each a durable JetStream consumer repaired from the event store."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import ClickHouseFacts
from adapters.nats.feed import JetStreamFeed
from adapters.nats.jetstream import JetStream
from adapters.postgres.event_store import PostgresEventStore, StoreEventSource
from adapters.postgres.leadership import run_as_leader
from entrypoints.settings import Settings
from projections.ports import ProjectionSink
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


async def run_projection(
    sink: ProjectionSink,
    store: PostgresEventStore,
    nats_url: str,
    stop: asyncio.Event,
    batch_size: int = 500,
    linger_seconds: float = 0.0,
) -> None:
    """Run until stopped; restart the runner after unexpected errors (logged).

    `batch_size`: small for PostgreSQL views (latency), large for ClickHouse, which wants
    few big inserts (10,000+ rows) rather than many small ones. `linger_seconds`: see
    `ProjectionRunner`.
    """
    jetstream = JetStream(nats_url, name=f"projection:{sink.name}")
    durable = sink.name.replace(":", "_").replace(".", "_")
    runner = ProjectionRunner(
        sink,
        JetStreamFeed(jetstream, durable, store.mapper, sink.reads),
        StoreEventSource(store),
        batch_size=batch_size,
        linger_seconds=linger_seconds,
    )
    try:
        while True:
            try:
                await runner.run(stop)  # returns once stopped, after its final catch-up
                return
            except Exception:
                log.exception("projection failed; restarting", extra={"projection": sink.name})
                if stop.is_set():
                    return
                await asyncio.sleep(1.0)
    finally:
        await jetstream.close()


async def clickhouse_projection(
    settings: Settings, stop: asyncio.Event, gate: asyncio.Lock | None = None
) -> None:
    """The ClickHouse projection, led by one process among all that could run it; holding
    `gate` pauses it (a rebuild's swap)."""
    assert settings.database_url, "needs DATABASE_URL"
    await run_as_leader(
        settings.database_url,
        f"projection:{ClickHouseFacts.name}",
        lambda leading: _clickhouse_projection(settings, leading, gate),
        stop,
    )


async def _clickhouse_projection(
    settings: Settings, stop: asyncio.Event, gate: asyncio.Lock | None
) -> None:
    assert settings.database_url, "needs DATABASE_URL"
    assert settings.nats_url, "needs NATS_URL"
    url = settings.clickhouse_url or settings.embedded_clickhouse_url()
    ch = await _connect_clickhouse(url, stop)
    if ch is None:
        return
    store = await asyncio.to_thread(PostgresEventStore, settings.database_url, 1)
    try:
        await run_projection(
            ClickHouseFacts(ch, gate=gate), store, settings.nats_url, stop, batch_size=10_000
        )
    finally:
        store.close()
        ch.close()


async def _connect_clickhouse(url: str, stop: asyncio.Event) -> ClickHouse | None:
    """A server that is not up yet is waited for (with backoff), not given up on. Stopping
    before the first connection still tries once, so the final catch-up is not skipped."""
    delay = 0.5
    while True:
        try:
            ch = await asyncio.to_thread(ClickHouse, url)
            await asyncio.to_thread(ch.migrate)
            return ch
        except Exception as exc:
            log.warning(
                "clickhouse unavailable; retrying",
                extra={"error": str(exc)[:300], "retry_in_s": delay},
            )
            if stop.is_set():
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30.0)
