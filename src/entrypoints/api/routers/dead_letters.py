"""Dead-lettered webhooks of the caller's project: list, inspect (PII masked), replay.
Admin keys only: a payload, even masked, is more than a read-only integrator needs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Response

from adapters.postgres.dead_letters import DeadLetter, DeadLetterDetail
from adapters.postgres.paging import Page
from entrypoints.api.deps import AdminDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.paging import json_response, paged
from entrypoints.api.spec import errors, ok
from entrypoints.masking import mask_payload, vars_of

router = APIRouter(
    prefix="/api/admin/dead-letters", tags=["admin"], responses=errors(401, 403, 422)
)


class Replayed(msgspec.Struct):
    replayed: int  # rows sent back to the worker


NOT_DEAD = ApiError(
    404,
    "DEAD_LETTER_NOT_FOUND",
    "No dead letter has this id in your project",
    ["List them with GET /api/admin/dead-letters; a replayed row is no longer dead."],
)


def masked(detail: DeadLetterDetail) -> dict[str, Any]:
    """No auth token and no full phone number ever leaves through here."""
    return {
        **vars_of(detail.letter),
        "payload": mask_payload(detail.payload),
        "idempotency_token": detail.idempotency_token,
    }


@router.get("", summary="Dead letters, newest first", responses=ok(Page[DeadLetter]))
async def list_dead_letters(
    admin: AdminDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    return await paged(services.dead_letters.list(admin.project_id, limit=limit, cursor=cursor))


@router.get(
    "/{letter_id}",
    summary="One dead letter with its payload, PII masked",
    responses=ok(dict[str, Any], 404),
)
async def inspect_dead_letter(letter_id: int, admin: AdminDep, services: ServicesDep) -> Response:
    detail = await services.dead_letters.get(admin.project_id, letter_id)
    if detail is None:
        raise NOT_DEAD
    return json_response(masked(detail))


@router.post(
    "/{letter_id}/replay",
    summary="Send one dead letter back to the worker",
    responses=ok(Replayed, 404),
)
async def replay_dead_letter(letter_id: int, admin: AdminDep, services: ServicesDep) -> Response:
    if not await services.dead_letters.replay(admin.project_id, letter_id):
        raise NOT_DEAD
    return json_response({"replayed": 1})


@router.post(
    "/replay",
    summary="Send every dead letter of the project back to the worker",
    responses=ok(Replayed),
)
async def replay_all_dead_letters(admin: AdminDep, services: ServicesDep) -> Response:
    return json_response({"replayed": await services.dead_letters.replay(admin.project_id)})
