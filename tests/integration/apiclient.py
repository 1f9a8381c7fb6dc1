"""The app in-process (lifespan included) behind an httpx client: real PostgreSQL underneath."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from entrypoints.api.app import create_app
from entrypoints.settings import Settings

BASE_URL = "http://testserver"


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, *, clickhouse: bool = False
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(settings, run_clickhouse_projection=clickhouse)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client, app
