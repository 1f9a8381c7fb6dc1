"""Ports the projection runner depends on; adapters implement them per technology."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from projections.positioned import PositionedEvent


class ProjectionSink(Protocol):
    """A read model that stores its position with its rows, so replays change nothing."""

    name: str
    reads: tuple[type, ...]
    """The event classes it uses; a feed may hand it others as `Unread`, undecoded."""

    async def position(self) -> int: ...

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        """Apply events in order, skip those at or below the stored position; return it."""
        ...


class FeedMessage(Protocol):
    position: int
    item: PositionedEvent | None


class EventFeed(Protocol):
    """The fast path (JetStream): may repeat, reorder or lose messages."""

    async def fetch(self, max_items: int, timeout: float) -> Sequence[FeedMessage]: ...

    async def ack(self, messages: Sequence[FeedMessage]) -> None:
        """Done with a batch `fetch` returned: none of it is to be delivered again."""
        ...


class EventSource(Protocol):
    """The source of truth (the event store): complete and ordered."""

    async def read(self, after: int, upto: int | None, limit: int) -> list[PositionedEvent]: ...

    async def head(self) -> int: ...
