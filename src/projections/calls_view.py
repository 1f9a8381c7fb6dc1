"""CallsViewProjection: the `calls` snapshot and the `call_events` feed, from Call events."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import msgspec

from domain.call import Call
from domain.call_status import FINAL, CallStatus
from projections.positioned import PositionedEvent

ACTIVE_STATUSES = ("queued", "initiated", "ringing", "in-progress")

# Realtime names (seed 003): what the feed, SSE and ClickHouse call each event.
EVENT_TYPES: dict[type[Any], str] = {
    Call.Created: "call.created",
    Call.StatusObserved: "call.updated",
    Call.ObservationIgnored: "call.observation_ignored",
}
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


class CallRow(msgspec.Struct, kw_only=True):
    """One row of the `calls` view: the latest known state of a call."""

    project_id: str
    call_sid: str
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    parent_call_sid: str | None = None
    status: str = "queued"
    last_sequence_number: int | None = None
    last_event_time: datetime | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    sip_response_code: int | None = None
    is_final: bool = False
    finalized_at: datetime | None = None
    sync_state: str = "active"
    version: int = 0
    last_position: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class FeedRow(msgspec.Struct, kw_only=True):
    """One row of `call_events`: an immutable event with its position and the call after it."""

    position: int
    project_id: str
    call_sid: str
    aggregate_version: int
    event_type: str
    event_time: datetime
    recorded_at: datetime
    source: str | None
    status: str | None
    operation_id: str
    trace_id: str
    payload: dict[str, Any]
    snapshot: CallRow


def event_payload(event: Any) -> dict[str, Any]:
    """The event's own fields, without the store's envelope."""
    return {f.name: getattr(event, f.name) for f in fields(event) if f.name not in _ENVELOPE_FIELDS}


class CallsViewProjection:
    """Folds Call events into `calls` rows and emits one `call_events` row per event."""

    name = "calls_view"

    @staticmethod
    def apply(row: CallRow | None, item: PositionedEvent) -> tuple[CallRow, FeedRow]:
        event = item.event
        when: datetime = getattr(event, "provider_event_time", None) or event.timestamp
        if isinstance(event, Call.Created):
            row = CallRow(
                project_id=event.project_id,
                call_sid=event.call_sid,
                direction=event.direction,
                from_number=event.from_number,
                to_number=event.to_number,
                parent_call_sid=event.parent_call_sid,
                started_at=event.timestamp,
                created_at=event.timestamp,
            )
        elif row is None:
            msg = f"event at position {item.position} arrived before its call was created"
            raise LookupError(msg)
        if isinstance(event, Call.StatusObserved):
            _apply_status(row, event, when)
        row.version = event.originator_version
        row.last_position = item.position
        row.updated_at = event.timestamp
        feed = FeedRow(
            position=item.position,
            project_id=row.project_id,
            call_sid=row.call_sid,
            aggregate_version=event.originator_version,
            event_type=EVENT_TYPES[type(event)],
            event_time=when,
            recorded_at=event.timestamp,
            source=getattr(event, "source", None),
            status=getattr(event, "status", None),
            operation_id=event.operation_id,
            trace_id=event.trace_id,
            payload=event_payload(event),
            snapshot=msgspec.structs.replace(row),
        )
        return row, feed


def _apply_status(row: CallRow, event: Any, when: datetime) -> None:
    status = CallStatus(event.status)
    row.status = status.value
    if event.sequence_number is not None:
        row.last_sequence_number = event.sequence_number
    row.last_event_time = when
    if status is CallStatus.IN_PROGRESS and row.answered_at is None:
        row.answered_at = when
    if event.duration_seconds is not None:
        row.duration_seconds = event.duration_seconds
    if event.sip_response_code is not None:
        row.sip_response_code = event.sip_response_code
    if status in FINAL and not row.is_final:
        row.is_final = True
        row.finalized_at = when
        row.ended_at = when
