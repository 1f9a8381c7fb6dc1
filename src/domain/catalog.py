"""Every aggregate and its event classes: what schemas are generated from and tested against."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.call import Call
from domain.campaign import Campaign
from domain.message import Message

AGGREGATES: dict[str, type[Aggregate]] = {"call": Call, "campaign": Campaign, "message": Message}


def event_classes() -> dict[str, type[Any]]:
    """`<aggregate>.<event>` -> class, for every event nested in a registered aggregate."""
    found: dict[str, type[Any]] = {}
    for name, aggregate in AGGREGATES.items():
        for attr, value in vars(aggregate).items():
            if isinstance(value, type) and issubclass(value, Aggregate.Event) and attr != "Event":
                found[f"{name}.{_snake(attr)}"] = value
    return dict(sorted(found.items()))


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
