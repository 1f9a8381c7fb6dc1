"""GET /api/events: the delta feed, the same events as SSE, for clients that poll."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from entrypoints.api.bodies import DeltaFeed
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.paging import json_response
from entrypoints.api.realtime import envelope
from entrypoints.api.spec import errors, ok

router = APIRouter(prefix="/api", tags=["events"], responses=errors(401))


@router.get(
    "/events",
    summary="Events after a position (the SSE feed, by polling)",
    responses=ok(DeltaFeed, 422),
)
async def delta_feed(
    principal: PrincipalDep,
    services: ServicesDep,
    after_seq: Annotated[int, Query(ge=0, description="Last position you have")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    rows = await services.calls.feed(after_seq, limit, project_id=principal.project_id)
    items = [{"id": r["position"], **envelope(r)} for r in rows]
    next_seq = rows[-1]["position"] if rows else after_seq
    return json_response({"items": items, "next_after_seq": next_seq})
