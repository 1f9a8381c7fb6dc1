"""GET /api/messages: SMS, WhatsApp and other messages, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from adapters.postgres.paging import Page
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.paging import paged
from entrypoints.api.spec import errors, ok
from projections.messages_view import MessageRow

router = APIRouter(prefix="/api/messages", tags=["messages"], responses=errors(401))


@router.get("", summary="Messages, optionally by status", responses=ok(Page[MessageRow], 422))
async def list_messages(
    principal: PrincipalDep,
    services: ServicesDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    return await paged(
        services.messages.list_messages(
            principal.project_id, status=status, limit=limit, cursor=cursor
        )
    )
