"""GET /realtime/token and /realtime/stream (SSE; the event id is the global position)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from entrypoints.api.bodies import Envelope, RealtimeToken
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.paging import json_response
from entrypoints.api.spec import errors, ok, schema_ref

router = APIRouter(prefix="/realtime", tags=["realtime"], responses=errors(401))
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: frames `id: <position>`, `event: <type>`,"
        " `data: <Envelope as JSON>`, and `: heartbeat` comments when quiet.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "x-sse-data": schema_ref(Envelope),
    }
}


@router.get(
    "/token", summary="A short-lived token for EventSource clients", responses=ok(RealtimeToken)
)
async def token(principal: PrincipalDep, services: ServicesDep) -> Response:
    value, expires = services.tokens.issue(principal.project_id)
    return json_response(
        RealtimeToken(token=value, expires_at=expires, stream_url=f"/realtime/stream?token={value}")
    )


@router.get(
    "/stream",
    summary="Server-sent events of this project, resumable by id",
    response_class=StreamingResponse,
    responses={**_STREAM, **errors(422)},
)
async def stream(
    request: Request,
    services: ServicesDep,
    token: str | None = None,
    after: int | None = None,
    types: str | None = None,
) -> StreamingResponse:
    """`types`: comma-separated event types or entity prefixes (`call.updated,recording`)."""
    project_id = services.tokens.verify(token) if token else None
    if project_id is None:
        key = request.headers.get("authorization", "").partition(" ")[2].strip()
        principal = await services.projects.by_api_key(key) if key else None
        if principal is None:
            raise ApiError(
                401,
                "REALTIME_TOKEN_INVALID",
                "A valid realtime token is required",
                ["Get one from GET /realtime/token (it expires), or send a Bearer API key."],
            )
        project_id = principal.project_id
    last_event_id = request.headers.get("last-event-id")
    resume = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
    return StreamingResponse(
        services.hub.stream(
            project_id, resume, frozenset(t.strip() for t in (types or "").split(",") if t.strip())
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


__all__ = ["PrincipalDep", "router"]
