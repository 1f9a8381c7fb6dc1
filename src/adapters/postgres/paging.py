"""Keyset pagination for the read models: opaque cursors over a (time, key...) sort order."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

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
