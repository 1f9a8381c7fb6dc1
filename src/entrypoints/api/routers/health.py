"""GET /api/health/sync: lag and backlog, measured (system-wide; no tenant data)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from adapters.postgres.sync_health import SyncHealth, sync_health
from entrypoints.api.deps import ServicesDep
from entrypoints.api.spec import body

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get(
    "/sync",
    summary="How far each follower lags the event store; inbox backlog",
    responses={200: body(SyncHealth), 503: body(SyncHealth, "Degraded: see `problems`")},
)
async def sync(services: ServicesDep) -> JSONResponse:
    """200 when healthy, 503 when degraded, so load balancers and probes can act on it."""
    assert services.settings.database_url
    health = await asyncio.to_thread(
        sync_health, services.settings.database_url, services.store.table
    )
    return JSONResponse(
        jsonable_encoder(health.as_dict()), status_code=200 if health.status == "ok" else 503
    )
