"""A call's timeline: the state after each event, for auditors replaying its history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def state_of(aggregate: Any) -> dict[str, Any]:
    """An aggregate's public attributes, copied (mutating the next event changes it in place)."""
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


def timeline(
    events: Iterable[Any], *, as_of: datetime | None = None
) -> list[tuple[Any, dict[str, Any]]]:
    """(event, state after it) for each event recorded by `as_of` (inclusive), in order.

    Events must be in version order; the library's `mutate` folds them as `replay` does.
    """
    steps: list[tuple[Any, dict[str, Any]]] = []
    aggregate: Any = None
    for event in events:
        if as_of is not None and event.timestamp > as_of:
            break
        aggregate = event.mutate(aggregate)
        steps.append((event, state_of(aggregate)))
    return steps
