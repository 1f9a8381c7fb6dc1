"""GET /realtime/token and /realtime/stream (SSE; the event id is the global position)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError

router = APIRouter(prefix="/realtime", tags=["realtime"])


@router.get("/token", summary="A short-lived token for EventSource clients")
async def token(principal: PrincipalDep, services: ServicesDep) -> dict[str, object]:
    value, expires = services.tokens.issue(principal.project_id)
    return {"token": value, "expires_at": expires, "stream_url": f"/realtime/stream?token={value}"}


@router.get("/stream", summary="Server-sent events of this project, resumable by id")
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
