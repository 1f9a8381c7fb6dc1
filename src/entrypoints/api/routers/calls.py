"""GET /api/calls/...: the `calls` view, scoped to the key's project."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Response

from adapters.postgres.paging import Page
from domain.call import replay
from entrypoints.api.bodies import ActiveCalls, CallEvents, CallHistory
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.paging import paged
from entrypoints.api.spec import IsoDateTime, errors, ok
from projections.calls_view import CallRow

router = APIRouter(prefix="/api/calls", tags=["calls"], responses=errors(401))
_json = msgspec.json.Encoder()


@router.get(
    "",
    summary="Calls, newest first, by status, direction, campaign, number, time",
    responses=ok(Page[CallRow], 422),
)
async def list_calls(
    principal: PrincipalDep,
    services: ServicesDep,
    status: str | None = None,
    direction: str | None = None,
    campaign_id: str | None = None,
    number: Annotated[str | None, Query(description="Either party, E.164")] = None,
    started_from: IsoDateTime | None = None,
    started_to: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    return await paged(
        services.calls.list_calls(
            principal.project_id,
            status=status,
            direction=direction,
            campaign_id=campaign_id,
            number=number,
            started_from=started_from,
            started_to=started_to,
            limit=limit,
            cursor=cursor,
        )
    )


@router.get("/active", summary="Calls not yet final, newest first", responses=ok(ActiveCalls))
async def active_calls(principal: PrincipalDep, services: ServicesDep) -> Response:
    position = services.hub.position
    calls = await services.calls.active_calls(principal.project_id)
    return Response(
        _json.encode({"calls": calls, "position": position}), media_type="application/json"
    )


@router.get("/{call_sid}", summary="One call's current state", responses=ok(CallRow, 404))
async def get_call(call_sid: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    call = await services.calls.get_call(principal.project_id, call_sid)
    if call is None:
        raise _not_found(call_sid)
    return Response(_json.encode(call), media_type="application/json")


@router.get(
    "/{call_sid}/events",
    summary="One call's events, in log order",
    responses=ok(CallEvents, 404),
)
async def call_events(call_sid: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    rows = await services.calls.call_feed(principal.project_id, call_sid)
    if not rows:
        raise _not_found(call_sid)
    return Response(
        _json.encode({"call_sid": call_sid, "events": rows}), media_type="application/json"
    )


@router.get(
    "/{call_sid}/history",
    summary="The call as the log knew it at a time",
    responses=ok(CallHistory, 404, 422),
)
async def call_history(
    call_sid: str, principal: PrincipalDep, services: ServicesDep, as_of: IsoDateTime | None = None
) -> Response:
    """`as_of` (ISO 8601): the state after every event recorded by then, and those events,
    each with its version, `hash` and `prev_hash` in the call's chain."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    chain = await asyncio.to_thread(services.store.call_chain, principal.project_id, call_sid)
    call = replay([link.event for link in chain], as_of=as_of)
    if call is None:
        raise _not_found(call_sid)
    links = {link.position: link for link in chain}
    events = await services.calls.call_feed(principal.project_id, call_sid, until=as_of)
    for e in events:  # each event's place in the call's hash chain (ADR 0010)
        link = links.get(e["position"])
        e.update(
            version=link.version if link else None,
            hash=link.hash.hex() if link else None,
            prev_hash=link.prev_hash.hex() if link else None,
        )
    state = {k: v for k, v in vars(call).items() if not k.startswith("_")}
    body = {
        "call_sid": call_sid,
        "as_of": as_of,
        "version": call.version,
        "head_hash": chain[call.version - 1].hash.hex(),
        "state": state,
        "events": events,
    }
    return Response(_json.encode(body), media_type="application/json")


def _not_found(call_sid: str) -> ApiError:
    return ApiError(
        404,
        "CALL_NOT_FOUND",
        "No such call in this project",
        ["Check the CallSid; a call appears once its first callback was processed."],
        {"call_sid": call_sid},
    )
