"""The old call viewer's read API (seed 003), unchanged in shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from adapters.postgres.paging import Page
from entrypoints.api.deps import PrincipalDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.paging import paged
from entrypoints.api.spec import errors, ok
from projections.conversations_view import ConversationRow, ItemRow

router = APIRouter(prefix="/api/conversations", tags=["conversations"], responses=errors(401))
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get(
    "",
    summary="Conversations (one per contact), newest activity first",
    responses=ok(Page[ConversationRow], 422),
)
async def list_conversations(
    principal: PrincipalDep, services: ServicesDep, limit: Limit = 50, cursor: str | None = None
) -> Response:
    return await paged(
        services.conversations.list_conversations(principal.project_id, limit=limit, cursor=cursor)
    )


@router.get(
    "/{conversation_id}/messages",
    summary="A conversation's calls and messages",
    responses=ok(Page[ItemRow], 404, 422),
)
async def conversation_messages(
    conversation_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    found: Any = await services.conversations.get_conversation(
        principal.project_id, conversation_id
    )
    if found is None:
        raise ApiError(
            404,
            "CONVERSATION_NOT_FOUND",
            "No such conversation in this project",
            ["List conversations with GET /api/conversations."],
        )
    return await paged(
        services.conversations.conversation_items(
            principal.project_id, conversation_id, limit=limit, cursor=cursor
        )
    )
