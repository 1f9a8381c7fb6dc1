"""GET /metrics: Prometheus text format. System-wide counts, no tenant data (like
/api/health/sync); restrict it at the network edge if the counts themselves matter."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from entrypoints.api.deps import ServicesDep
from entrypoints.api.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (webhooks, inbox, worker, realtime, lag)",
    response_class=Response,
    responses={200: {"description": "Prometheus text", "content": {CONTENT_TYPE: {}}}},
)
async def metrics(services: ServicesDep) -> Response:
    body = await asyncio.to_thread(services.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
