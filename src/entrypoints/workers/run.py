"""The worker processes: commands (inbox worker, relay, reconcile) and the projections.

`serve worker` runs both by default; `switchboard up` runs them in separate processes
(`layout.UP_COMPONENTS`, ADR 0013), so the projections do not wait for the inbox worker's
thread (the GIL) and use both cores. Leadership locks make any layout safe, and any number
of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Collection

from adapters.nats.jetstream import JetStream
from adapters.nats.relay import NatsEventRelay
from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.leadership import run_as_leader
from adapters.postgres.listen import listen
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.partitions import maintain_partitions
from entrypoints.settings import Settings
from entrypoints.tasks import drain
from entrypoints.workers.inbox import run_inbox_worker
from entrypoints.workers.projections import clickhouse_projection, run_projection
from entrypoints.workers.reconcile import run_reconcile_schedule

log = logging.getLogger(__name__)
# How long the views no one watches live let events gather after a batch: at 500 events/s,
# a quarter second of staleness turns a hundred small transactions a second into four, and
# leaves the CPU to calls_view, which the live monitor and the SSE stream wait on (ADR 0016).
LINGER_SECONDS = 0.25


async def run_worker(settings: Settings, stop: asyncio.Event, *, projections: bool = True) -> None:
    """Inbox worker, relay, reconcile and partition upkeep; and, unless told not to, the
    projections (`run_projections`) in the same process."""
    assert settings.database_url, "worker needs DATABASE_URL"
    assert settings.nats_url, "worker needs NATS_URL"
    store = PostgresEventStore(settings.database_url, pool_size=4)
    pool = await open_async_pool(settings.database_url, min_size=1, max_size=4)
    jetstream = JetStream(settings.nats_url, name="relay")
    inbox_stop = threading.Event()
    inbox = threading.Thread(
        target=run_inbox_worker,
        args=(store, settings.database_url, inbox_stop),
        kwargs={
            "max_attempts": settings.inbox_max_attempts,
            "backoff_base_seconds": settings.inbox_backoff_base_seconds,
        },
        name="inbox-worker",
        daemon=True,
    )
    inbox.start()
    wake = asyncio.Event()
    relay = NatsEventRelay(store, pool, jetstream)
    url = settings.database_url
    tasks = [
        asyncio.create_task(listen(url, store.channel, wake, stop)),
        asyncio.create_task(run_as_leader(url, "relay:nats", lambda s: relay.run(s, wake), stop)),
        asyncio.create_task(_maintain_partitions_daily(settings, stop)),
    ]
    if projections:
        tasks.append(asyncio.create_task(run_projections(settings, stop)))
    if settings.reconcile_enabled:  # one leader runs hot/warm/cold for every process
        tasks.append(
            asyncio.create_task(
                run_as_leader(
                    url, "reconcile", lambda s: run_reconcile_schedule(settings, store, s), stop
                )
            )
        )
    log.info("worker started", extra={"projections": projections})
    try:
        await stop.wait()
    finally:
        inbox_stop.set()
        await asyncio.to_thread(inbox.join, 10)
        await drain(tasks)
        await jetstream.close()
        await pool.close()
        store.close()


async def run_projections(
    settings: Settings, stop: asyncio.Event, only: Collection[str] = ()
) -> None:
    """The PostgreSQL views (and the ClickHouse facts when ClickHouse is a server; embedded
    chDB belongs to the API process), or `only` those named (`layout.PROJECTIONS`). One leader per
    projection across all processes; the store repairs whatever the feed loses."""
    assert settings.database_url, "projections need DATABASE_URL"
    assert settings.nats_url, "projections need NATS_URL"
    url, nats_url = settings.database_url, settings.nats_url
    store = PostgresEventStore(url, pool_size=4)
    pool = await open_async_pool(url, min_size=2, max_size=10)
    sinks = [
        sink
        for sink in (
            PostgresCallsView(pool),
            PostgresMessagesView(pool),
            PostgresCampaignsView(pool),
            PostgresConversationsView(pool),
        )
        if not only or sink.name in only
    ]
    tasks = [
        asyncio.create_task(
            run_as_leader(
                url,
                f"projection:{sink.name}",
                functools.partial(
                    run_projection,
                    sink,
                    store,
                    nats_url,
                    linger_seconds=0.0 if isinstance(sink, PostgresCallsView) else LINGER_SECONDS,
                ),
                stop,
            )
        )
        for sink in sinks
    ]
    if not settings.clickhouse_is_embedded and (not only or "clickhouse_facts" in only):
        tasks.append(asyncio.create_task(clickhouse_projection(settings, stop)))
    log.info("projections started", extra={"projections": [s.name for s in sinks]})
    try:
        await stop.wait()
    finally:
        await drain(tasks)
        await pool.close()
        store.close()


async def _maintain_partitions_daily(settings: Settings, stop: asyncio.Event) -> None:
    """New months must exist before their first event; old ones go when retention says."""
    assert settings.database_url
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=6 * 3600)
        if stop.is_set():
            return
        try:
            await asyncio.to_thread(
                maintain_partitions,
                settings.database_url,
                retention_months=settings.retention_months,
            )
        except Exception:
            log.exception("partition maintenance failed; retrying in 6 h")
