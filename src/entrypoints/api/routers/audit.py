"""GET /api/calls/{sid}/export: a call's full history as NDJSON, for auditors."""

from __future__ import annotations

import asyncio

import msgspec
from fastapi import APIRouter, Response

from adapters.postgres.audit import call_export
from adapters.postgres.projects import SEES_PHONE_NUMBERS
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.spec import errors
from entrypoints.masking import mask_phone_numbers

router = APIRouter(prefix="/api/calls", tags=["audit"], responses=errors(401))
_json = msgspec.json.Encoder()


@router.get(
    "/{call_sid}/export",
    summary="A call's events (with positions and hashes) and raw callbacks, as NDJSON",
    response_class=Response,
    responses={
        200: {"description": "NDJSON records", "content": {"application/x-ndjson": {}}},
        **errors(404),
    },
)
async def export_call(call_sid: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """One JSON object per line: a `call` header, each `event` in version order with its
    position, `hash` and `prev_hash`, then each provider `callback` as received. Phone
    numbers are masked unless the key's role is auditor or admin."""
    records = await asyncio.to_thread(call_export, services.store, principal.project_id, call_sid)
    if not records:
        raise ApiError(
            404,
            "CALL_NOT_FOUND",
            "No such call in this project",
            ["Check the CallSid; a call appears once its first callback was received."],
            {"call_sid": call_sid},
        )
    if principal.role not in SEES_PHONE_NUMBERS:
        records = [mask_phone_numbers(r) for r in records]
    body = b"".join(_json.encode(r) + b"\n" for r in records)
    return Response(
        body,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{call_sid}.ndjson"'},
    )
