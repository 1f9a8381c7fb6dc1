"""An event together with its position in the store's global sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

EVERY_EVENT: tuple[type, ...] = (object,)
"""What a projection that reads every aggregate's events declares as its `reads`."""


@dataclass(frozen=True, slots=True)
class PositionedEvent:
    """What every projection consumes: the domain event and its global position."""

    position: int
    event: Any


@dataclass(frozen=True, slots=True)
class Unread:
    """Stands for an event of a class the projection does not read, left undecoded: the
    feed saves the decoding, and the projection still moves its position past it."""

    topic: str


class ReadsEvents:
    """What a pure projection shares: `reads`, the event classes it uses (the log holds
    every aggregate's), and `handles`, the check against them."""

    reads: ClassVar[tuple[type, ...]] = EVERY_EVENT

    @classmethod
    def handles(cls, event: Any) -> bool:
        return isinstance(event, cls.reads)
