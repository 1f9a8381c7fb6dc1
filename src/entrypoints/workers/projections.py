"""Projection consumers: each a durable JetStream consumer repaired from the event store."""

from __future__ import annotations

import asyncio
import logging

from adapters.clickhouse.call_events import ClickHouseCallEvents
from adapters.clickhouse.client import ClickHouse
from adapters.nats.feed import JetStreamFeed
from adapters.nats.jetstream import connect, ensure_stream
from adapters.postgres.event_store import PostgresEventStore, StoreEventSource
from entrypoints.settings import Settings
from projections.ports import ProjectionSink
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


async def run_projection(
    sink: ProjectionSink, store: PostgresEventStore, nats_url: str, stop: asyncio.Event
) -> None:
    """Run until stopped; restart the runner after unexpected errors (logged)."""
    nc = await connect(nats_url, name=f"projection:{sink.name}")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        durable = sink.name.replace(":", "_").replace(".", "_")
        runner = ProjectionRunner(
            sink, JetStreamFeed(js, durable, store.mapper), StoreEventSource(store)
        )
        while not stop.is_set():
            try:
                await runner.run(stop)
            except Exception:
                log.exception("projection failed; restarting", extra={"projection": sink.name})
                await asyncio.sleep(1.0)
    finally:
        await nc.close()


async def clickhouse_projection(settings: Settings, stop: asyncio.Event) -> None:
    assert settings.database_url
    assert settings.nats_url
    url = settings.clickhouse_url or settings.embedded_clickhouse_url()
    ch = await asyncio.to_thread(ClickHouse, url)
    await asyncio.to_thread(ch.migrate)
    store = await asyncio.to_thread(PostgresEventStore, settings.database_url, 1)
    try:
        await run_projection(ClickHouseCallEvents(ch), store, settings.nats_url, stop)
    finally:
        store.close()
        ch.close()
