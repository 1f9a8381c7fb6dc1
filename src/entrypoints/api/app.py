"""App factory. Nothing connects at import time; the lifespan opens and closes everything."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from adapters.clickhouse.analyst import AnalystSql
from adapters.postgres.calls_view import FEED_CHANNEL, PostgresCallsView
from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.command_runner import PostgresCommandRunner
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.dead_letters import PostgresDeadLetters
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.listen import listen
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.projects import ProjectDirectory
from entrypoints.api.deps import Services
from entrypoints.api.errors import install_error_handlers
from entrypoints.api.metrics import Metrics
from entrypoints.api.middleware import TraceMiddleware
from entrypoints.api.realtime import RealtimeHub
from entrypoints.api.rebuild_job import FactsRebuildJob
from entrypoints.api.routers import (
    admin,
    analytics,
    audit,
    calls,
    campaigns,
    conversations,
    dead_letters,
    events,
    health,
    messages,
    metrics,
    pages,
    realtime,
    sync,
    webhooks,
)
from entrypoints.api.spec import document
from entrypoints.api.tokens import RealtimeTokens
from entrypoints.bootstrap import secret_key
from entrypoints.settings import Settings
from entrypoints.tasks import drain
from entrypoints.workers.projections import clickhouse_projection

log = logging.getLogger(__name__)


class SwitchboardApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        """Webhooks take a fast path in front of the whole stack (routers/webhooks.py)."""
        return webhooks.WebhookFastPath(
            lambda: self.state.services, super().build_middleware_stack()
        )


def create_app(
    settings: Settings,
    *,
    run_clickhouse_projection: bool | None = None,
) -> FastAPI:
    """`run_clickhouse_projection` defaults to: this process owns an embedded chDB."""
    own_clickhouse = (
        settings.clickhouse_is_embedded
        if run_clickhouse_projection is None
        else run_clickhouse_projection
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert settings.database_url, "the API needs DATABASE_URL (switchboard up sets it)"
        pool = await open_async_pool(settings.database_url)
        store = await asyncio.to_thread(PostgresEventStore, settings.database_url, 2)
        view = PostgresCallsView(pool)
        measured = Metrics(settings.database_url)
        hub = RealtimeHub(view, measured.publish_latency.observe)
        app.state.services = Services(
            settings=settings,
            projects=ProjectDirectory(pool),
            inbox=PostgresInbox(pool),
            calls=view,
            hub=hub,
            tokens=RealtimeTokens(secret_key(settings), settings.realtime_token_ttl_seconds),
            store=store,
            commands=PostgresCommandRunner(store),
            messages=PostgresMessagesView(pool),
            campaign_views=PostgresCampaignsView(pool),
            conversations=PostgresConversationsView(pool),
            analyst=AnalystSql(settings.clickhouse_url or settings.embedded_clickhouse_url()),
            dead_letters=PostgresDeadLetters(pool),
            metrics=measured,
        )
        stop = asyncio.Event()
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(hub.run(stop)),
            asyncio.create_task(listen(settings.database_url, FEED_CHANNEL, hub.wake, stop)),
        ]
        # The ClickHouse rebuild runs here when this process owns chDB, pausing the live
        # projection through its gate for the swap; with a server URL it needs no pause.
        gate = asyncio.Lock()
        if own_clickhouse:
            tasks.append(asyncio.create_task(clickhouse_projection(settings, stop, gate)))
        if own_clickhouse or not settings.clickhouse_is_embedded:
            app.state.clickhouse_rebuild = FactsRebuildJob(
                settings.clickhouse_url or settings.embedded_clickhouse_url(),
                settings.database_url,
                (lambda: gate) if own_clickhouse else contextlib.nullcontext,
            )
        # Long-lived objects made at start-up never need the cyclic GC again, and fewer
        # gen-0 passes keep request tail latency down.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        try:
            yield
        finally:
            stop.set()
            if job := getattr(app.state, "clickhouse_rebuild", None):
                await job.stop()
            await drain(tasks)
            await pool.close()
            store.close()
            app.state.services.analyst.close()

    app = SwitchboardApp(
        title="Switchboard",
        version="0.1.0",
        description="Event-sourced call-center backend.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (
        admin,
        calls,
        events,
        conversations,
        messages,
        campaigns,
        realtime,
        health,
        sync,
        dead_letters,
        metrics,
        pages,
        analytics,
        audit,
    ):
        app.include_router(module.router)
    app.add_middleware(TraceMiddleware)
    document(app, webhooks.document)
    return app
