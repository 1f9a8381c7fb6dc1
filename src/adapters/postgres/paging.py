"""Keyset pagination for the read models: opaque cursors over a (time, key...) sort order."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")
MAX_LIMIT = 500


class InvalidCursor(ValueError):
    """The cursor was not produced by this API (or is from another sort order)."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page, newest first; pass next_cursor back to get the next one (None: the end)."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(at: datetime, *keys: str) -> str:
    raw = json.dumps([at.isoformat(), *keys], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: int) -> tuple[datetime, list[str]]:
    """The (time, keys) of the last row of the previous page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        at = datetime.fromisoformat(values[0])
    except (binascii.Error, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    rest = values[1:]
    if len(rest) != keys or not all(isinstance(k, str) for k in rest) or at.tzinfo is None:
        raise InvalidCursor("cursor does not match this listing")
    return at, rest


def page(rows: list[T], limit: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """Rows were fetched with limit + 1: the extra one only says that a next page exists."""
    if len(rows) <= limit:
        return Page(rows, None)
    kept = rows[:limit]
    return Page(kept, cursor_of(kept[-1]))


async def keyset_page(
    pool: Any,
    select: str,
    where: Sequence[str],
    args: Sequence[Any],
    order: Sequence[str],
    decode_row: Callable[[Any], T],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """Newest first by `order` (a time column, then key columns that break ties), resuming
    after the cursor's row. The order columns must also be attributes of the decoded rows:
    the next cursor is read from the last row kept."""
    limit = clamp(limit)
    where, args = list(where), list(args)
    if cursor is not None:
        at, keys = decode_cursor(cursor, len(order) - 1)
        where.append(f"({', '.join(order)}) < ({', '.join(['%s'] * len(order))})")
        args += [at, *keys]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"{select} WHERE {' AND '.join(where)}"
            f" ORDER BY {', '.join(f'{c} DESC' for c in order)} LIMIT %s",
            (*args, limit + 1),
        )
        rows = [decode_row(r) for r in await cur.fetchall()]
    return page(
        rows,
        limit,
        lambda row: encode_cursor(
            getattr(row, order[0]), *(str(getattr(row, k)) for k in order[1:])
        ),
    )
