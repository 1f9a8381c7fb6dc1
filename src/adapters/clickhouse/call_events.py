"""ClickHouseCallEvents: one fact row per event, inserted in batches, idempotent on replay."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from adapters.clickhouse.client import ClickHouse
from projections.calls_view import EVENT_TYPES, CallsViewProjection, event_payload
from projections.positioned import PositionedEvent

COLUMNS = [
    "position",
    "project_id",
    "call_sid",
    "aggregate_version",
    "event_type",
    "status",
    "source",
    "event_time",
    "recorded_at",
    "operation_id",
    "trace_id",
    "payload",
]
_json = msgspec.json.Encoder()


def fact_row(item: PositionedEvent) -> list[Any]:
    e = item.event
    when: datetime = getattr(e, "provider_event_time", None) or e.timestamp
    return [
        item.position,
        UUID(e.project_id),
        e.call_sid,
        e.originator_version,
        EVENT_TYPES[type(e)],
        getattr(e, "status", "") or "",
        getattr(e, "source", "") or "",
        when.astimezone(UTC),
        e.timestamp.astimezone(UTC),
        e.operation_id,
        e.trace_id,
        _json.encode(event_payload(e)).decode(),
    ]


class ClickHouseCallEvents:
    """ProjectionSink. Its checkpoint is max(position) of the table itself: a batch is one
    insert (one part, atomic), so the data cannot disagree with the position. Replays are
    dropped by the insert token and, failing that, merged away by ReplacingMergeTree."""

    name = "clickhouse:call_events"

    def __init__(self, ch: ClickHouse) -> None:
        self.ch = ch

    async def position(self) -> int:
        rows = await asyncio.to_thread(self.ch.query, "SELECT max(position) FROM call_events")
        return int(rows[0][0] or 0)

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        if not items:
            return await self.position()
        calls = [i for i in items if CallsViewProjection.handles(i.event)]
        if calls:
            token = f"call_events:{calls[0].position}-{calls[-1].position}"
            rows = [fact_row(i) for i in calls]
            await asyncio.to_thread(self.ch.insert, "call_events", rows, COLUMNS, token)
        # Other aggregates' events after the last call event are read again after a restart
        # (the checkpoint is max(position) of the table): harmless, and rare.
        return items[-1].position
