"""App factory. Nothing connects at import time; the lifespan opens and closes everything."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from adapters.postgres.calls_view import FEED_CHANNEL, PostgresCallsView
from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.command_runner import PostgresCommandRunner
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.listen import listen
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.projects import ProjectDirectory
from entrypoints.api.deps import Services
from entrypoints.api.errors import install_error_handlers
from entrypoints.api.middleware import TraceMiddleware
from entrypoints.api.realtime import RealtimeHub
from entrypoints.api.routers import (
    calls,
    campaigns,
    conversations,
    events,
    health,
    messages,
    pages,
    realtime,
    webhooks,
)
from entrypoints.api.spec import document, errors
from entrypoints.api.tokens import RealtimeTokens
from entrypoints.bootstrap import secret_key
from entrypoints.settings import Settings
from entrypoints.tasks import drain
from entrypoints.workers.projections import clickhouse_projection

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_clickhouse_projection: bool | None = None) -> FastAPI:
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
        hub = RealtimeHub(view)
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
        )
        stop = asyncio.Event()
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(hub.run(stop)),
            asyncio.create_task(listen(settings.database_url, FEED_CHANNEL, hub.wake, stop)),
        ]
        if own_clickhouse:
            tasks.append(asyncio.create_task(clickhouse_projection(settings, stop)))
        # Long-lived objects made at start-up never need the cyclic GC again, and fewer
        # gen-0 passes keep request tail latency down.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        try:
            yield
        finally:
            stop.set()
            await drain(tasks)
            await pool.close()
            store.close()

    app = FastAPI(
        title="Switchboard",
        version="0.1.0",
        description="Event-sourced call-center backend.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(webhooks.router, responses=errors(400, 403, 413))
    for module in (
        calls,
        events,
        conversations,
        messages,
        campaigns,
        realtime,
        health,
        pages,
    ):
        app.include_router(module.router)
    app.add_middleware(TraceMiddleware)
    document(app)
    return app
