"""Cursor pagination on the wire: `{items, next_cursor}`; a bad cursor is a 422."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
from fastapi import Response

from adapters.postgres.paging import InvalidCursor, Page
from entrypoints.api.errors import ApiError

T = TypeVar("T")
_json = msgspec.json.Encoder()


async def paged(fetch: Awaitable[Page[T]]) -> Response:
    try:
        page = await fetch
    except InvalidCursor as exc:
        raise ApiError(
            422,
            "INVALID_CURSOR",
            "The cursor is not one this API issued",
            ["Pass back `next_cursor` from the previous page unchanged."],
        ) from exc
    return json_response({"items": page.items, "next_cursor": page.next_cursor})


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_json.encode(body), status_code=status, media_type="application/json")
