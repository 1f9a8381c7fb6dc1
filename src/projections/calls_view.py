"""CallsViewProjection: the `calls` snapshot and the `call_events` feed, from Call events."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import msgspec

from domain.call import ENRICHABLE, PARTIES, Call
from domain.call_status import FINAL, CallStatus
from projections.positioned import PositionedEvent, ReadsEvents

ACTIVE_STATUSES = ("queued", "initiated", "ringing", "in-progress")

# Realtime names (seed 003): what the feed, SSE and ClickHouse call each event.
EVENT_TYPES: dict[type[Any], str] = {
    Call.Created: "call.created",
    Call.StatusObserved: "call.updated",
    Call.Answered: "call.updated",
    Call.Ended: "call.updated",
    Call.Enriched: "call.updated",
    Call.Frozen: "call.updated",
    Call.RecordingUpdated: "recording.updated",
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
    answered_by: str | None = None
    duration_seconds: int | None = None
    sip_response_code: int | None = None
    is_final: bool = False
    finalized_at: datetime | None = None
    price: str | None = None
    price_unit: str | None = None
    billed_duration_seconds: int | None = None
    queue_time_ms: int | None = None
    recording_sid: str | None = None
    recording_status: str | None = None
    recording_url: str | None = None
    recording_duration_seconds: int | None = None
    recording_channels: int | None = None
    campaign_id: str | None = None
    attempt_id: str | None = None
    sync_state: str = "active"
    frozen_at: datetime | None = None
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


class CallsViewProjection(ReadsEvents):
    """Folds Call events into `calls` rows and emits one `call_events` row per event."""

    name = "calls_view"

    reads = (Call.Event,)

    @staticmethod
    def apply(row: CallRow | None, item: PositionedEvent) -> tuple[CallRow, FeedRow]:
        event = item.event
        when: datetime = getattr(event, "provider_event_time", None) or event.timestamp
        row = CallsViewProjection.fold(row, item)
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

    @staticmethod
    def fold(row: CallRow | None, item: PositionedEvent) -> CallRow:
        """The `calls` row after this event (the row is changed in place), without the feed."""
        event = item.event
        if isinstance(event, Call.Created):
            row = CallRow(
                project_id=event.project_id,
                call_sid=event.call_sid,
                direction=event.direction,
                from_number=event.from_number,
                to_number=event.to_number,
                parent_call_sid=event.parent_call_sid,
                campaign_id=event.campaign_id,
                attempt_id=event.attempt_id,
                started_at=event.timestamp,
                created_at=event.timestamp,
            )
        elif row is None:
            msg = f"event at position {item.position} arrived before its call was created"
            raise LookupError(msg)
        else:
            _FOLD.get(type(event), _unchanged)(row, event)
        row.version = event.originator_version
        row.last_position = item.position
        row.updated_at = event.timestamp
        return row


def _unchanged(row: CallRow, event: Any) -> None:
    """Ignored observations are history only."""


def _status(row: CallRow, event: Any) -> None:
    status = CallStatus(event.status)
    row.status = status.value
    row.is_final = status in FINAL
    if event.sequence_number is not None:
        row.last_sequence_number = max(row.last_sequence_number or 0, event.sequence_number)
    when = event.provider_event_time
    if when is not None and (row.last_event_time is None or when > row.last_event_time):
        row.last_event_time = when


def _answered(row: CallRow, event: Any) -> None:
    row.answered_at = event.answered_at
    row.answered_by = event.answered_by or row.answered_by


def _ended(row: CallRow, event: Any) -> None:
    row.is_final = True
    row.finalized_at = row.ended_at = event.ended_at
    row.duration_seconds = event.duration_seconds
    row.sip_response_code = event.sip_response_code


def _enriched(row: CallRow, event: Any) -> None:
    for name in (*ENRICHABLE, *PARTIES):
        value = getattr(event, name)
        if value is not None:
            setattr(row, name, value)


def _recording(row: CallRow, event: Any) -> None:
    row.recording_sid = event.recording_sid
    row.recording_status = event.status
    row.recording_url = event.url or row.recording_url
    row.recording_duration_seconds = event.duration_seconds or row.recording_duration_seconds
    row.recording_channels = event.channels or row.recording_channels


def _frozen(row: CallRow, event: Any) -> None:
    row.sync_state = "frozen"
    row.frozen_at = event.frozen_at


_FOLD = {
    Call.StatusObserved: _status,
    Call.Answered: _answered,
    Call.Ended: _ended,
    Call.Enriched: _enriched,
    Call.RecordingUpdated: _recording,
    Call.Frozen: _frozen,
}
