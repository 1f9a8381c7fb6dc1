"""An event together with its position in the store's global sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PositionedEvent:
    """What every projection consumes: the domain event and its global position."""

    position: int
    event: Any
