"""GET /api/calls/...: the `calls` view, scoped to the key's project."""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, Response

from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError

router = APIRouter(prefix="/api/calls", tags=["calls"])
_json = msgspec.json.Encoder()


@router.get("/active", summary="Calls not yet final, newest first")
async def active_calls(principal: PrincipalDep, services: ServicesDep) -> Response:
    position = services.hub.position
    calls = await services.calls.active_calls(principal.project_id)
    return Response(
        _json.encode({"calls": calls, "position": position}), media_type="application/json"
    )


@router.get("/{call_sid}", summary="One call's current state")
async def get_call(call_sid: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    call = await services.calls.get_call(principal.project_id, call_sid)
    if call is None:
        raise ApiError(
            404,
            "CALL_NOT_FOUND",
            "No such call in this project",
            ["Check the CallSid; a call appears once its first callback was processed."],
            {"call_sid": call_sid},
        )
    return Response(_json.encode(call), media_type="application/json")
