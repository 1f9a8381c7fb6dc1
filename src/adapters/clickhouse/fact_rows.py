"""Pure mapping of any aggregate's event to one typed row of the ClickHouse `events` table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any
from uuid import UUID

import msgspec

from domain.catalog import event_classes
from projections.calls_view import CallRow
from projections.positioned import PositionedEvent

DATETIME = "DateTime64(3, 'UTC')"
PRICE = "Decimal(18, 6)"

# The envelope every event has; names as schemas/clickhouse/0002_events.sql spells them.
COMMON_COLUMNS: dict[str, str] = {
    "position": "UInt64",
    "project_id": "UUID",
    "aggregate": "LowCardinality(String)",
    "aggregate_id": "UUID",
    "aggregate_version": "UInt32",
    "event_type": "LowCardinality(String)",
    "recorded_at": DATETIME,
    "event_time": DATETIME,
    "operation_id": "String",
    "trace_id": "String",
}
# One typed column per event field, named after the field (the union over all aggregates).
FIELD_COLUMNS: dict[str, str] = {
    "call_sid": "Nullable(String)",
    "message_sid": "Nullable(String)",
    "campaign_id": "Nullable(String)",
    "attempt_id": "Nullable(String)",
    "contact_id": "Nullable(String)",
    "recording_sid": "Nullable(String)",
    "parent_call_sid": "Nullable(String)",
    "messaging_service_sid": "Nullable(String)",
    "template_id": "Nullable(String)",
    "campaign_key": "Nullable(String)",
    "name": "Nullable(String)",
    "status": "LowCardinality(Nullable(String))",
    "source": "LowCardinality(Nullable(String))",
    "reason": "LowCardinality(Nullable(String))",
    "kind": "LowCardinality(Nullable(String))",
    "direction": "LowCardinality(Nullable(String))",
    "channel": "LowCardinality(Nullable(String))",
    "answered_by": "LowCardinality(Nullable(String))",
    "price_unit": "LowCardinality(Nullable(String))",
    "result": "LowCardinality(Nullable(String))",
    "observed": "Nullable(String)",
    "sequence_number": "Nullable(Int64)",
    "duration_seconds": "Nullable(Int32)",
    "billed_duration_seconds": "Nullable(Int32)",
    "queue_time_ms": "Nullable(Int64)",
    "sip_response_code": "Nullable(Int32)",
    "channels": "Nullable(Int16)",
    "error_code": "Nullable(Int32)",
    "body_chars": "Nullable(Int32)",
    "segments": "Nullable(Int32)",
    "attempt_number": "Nullable(Int32)",
    "contacts_succeeded": "Nullable(Int32)",
    "contacts_exhausted": "Nullable(Int32)",
    "price": f"Nullable({PRICE})",
    "provider_event_time": f"Nullable({DATETIME})",
    "observed_at": f"Nullable({DATETIME})",
    "answered_at": f"Nullable({DATETIME})",
    "ended_at": f"Nullable({DATETIME})",
    "finished_at": f"Nullable({DATETIME})",
    "frozen_at": f"Nullable({DATETIME})",
    "scheduled_at": f"Nullable({DATETIME})",
    "callback_at": f"Nullable({DATETIME})",
    "url": "Nullable(String)",
    "error_message": "Nullable(String)",
    "from_number": "Nullable(String)",
    "to_number": "Nullable(String)",
    "from_address": "Nullable(String)",
    "to_address": "Nullable(String)",
}
# Nested values with no natural column: kept as JSON in `payload` ('' when there are none).
PAYLOAD_FIELDS = frozenset({"limits", "contacts"})
# Fields every event has, mapped to COMMON_COLUMNS by hand; the topic is what event_type says.
COMMON_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "project_id", "operation_id", "trace_id"}
)
DROPPED_FIELDS = frozenset({"originator_topic"})
# What the sink inserts. The table has one more, `projected_at` (0007): the server fills it
# with the insert time, so a row stays a function of its event here.
COLUMNS: dict[str, str] = {**COMMON_COLUMNS, **FIELD_COLUMNS, "payload": "String"}
COLUMN_NAMES = list(COLUMNS)
# A call event's row names its call's campaign, attempt and direction (from call.created),
# so any call fact can be grouped by them without a join.
CALL_CONTEXT = ("campaign_id", "attempt_id", "direction")
# The event's own "when", first found; recorded_at when it has none. Planned times
# (scheduled_at, callback_at) are not when something happened.
EVENT_TIME_FIELDS = (
    "provider_event_time",
    "observed_at",
    "answered_at",
    "ended_at",
    "finished_at",
    "frozen_at",
)
_INDEX = {name: i for i, name in enumerate(COLUMN_NAMES)}
_json = msgspec.json.Encoder()
_MAX_PRICE = Decimal(10) ** 12


def utc(when: datetime | None) -> datetime | None:
    """Aware and in UTC; a naive time is read as UTC (as the domain does)."""
    if when is None or when.tzinfo is UTC:
        return when
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def price(text: str | None) -> Decimal | None:
    """The provider's decimal string, or None when it is not a number the column can hold
    (the event log keeps the text; a poison value must not stop the projection)."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and abs(value) < _MAX_PRICE else None


@lru_cache(maxsize=4096)
def project_uuid(project_id: str) -> UUID:
    """Parsed once per tenant, not once per event."""
    return UUID(project_id)


def _identity(value: Any) -> Any:
    return value


def converter(column_type: str) -> Callable[[Any], Any]:
    """How a Python value becomes what clickhouse-connect inserts into that column type."""
    if DATETIME in column_type:
        return utc
    if PRICE in column_type:
        return price
    return _identity


@dataclass(frozen=True, slots=True)
class EventPlan:
    """How one event class fills a row: its names and which field goes to which column."""

    aggregate: str
    event_type: str
    typed: tuple[tuple[int, str, Callable[[Any], Any]], ...]
    payload: tuple[str, ...]
    times: tuple[str, ...]


@cache
def plans() -> dict[type[Any], EventPlan]:
    """One plan per event class of every aggregate; a field with no column goes to payload."""
    out: dict[type[Any], EventPlan] = {}
    for event_type, cls in event_classes().items():
        names = [f.name for f in fields(cls)]
        typed = tuple(
            (_INDEX[n], n, converter(FIELD_COLUMNS[n])) for n in names if n in FIELD_COLUMNS
        )
        skipped = COMMON_FIELDS | DROPPED_FIELDS | FIELD_COLUMNS.keys()
        out[cls] = EventPlan(
            aggregate=event_type.split(".", 1)[0],
            event_type=event_type,
            typed=typed,
            payload=tuple(n for n in names if n not in skipped),
            times=tuple(n for n in EVENT_TIME_FIELDS if n in names),
        )
    return out


def event_row(item: PositionedEvent, call: CallRow | None = None) -> list[Any]:
    """The `events` row of one event, in COLUMN_NAMES order. `call` is the call's state
    after this event (for call events), which supplies CALL_CONTEXT."""
    e = item.event
    plan = plans()[type(e)]
    row: list[Any] = [None] * len(COLUMN_NAMES)
    recorded = utc(e.timestamp)
    happened = next((getattr(e, n) for n in plan.times if getattr(e, n) is not None), None)
    row[:10] = [
        item.position,
        project_uuid(e.project_id),
        plan.aggregate,
        e.originator_id,
        e.originator_version,
        plan.event_type,
        recorded,
        utc(happened) or recorded,
        e.operation_id,
        e.trace_id,
    ]
    for index, name, convert in plan.typed:
        row[index] = convert(getattr(e, name))
    if call is not None:
        for name in CALL_CONTEXT:
            if row[_INDEX[name]] is None:
                row[_INDEX[name]] = getattr(call, name)
    elif plan.aggregate == "campaign":
        row[_INDEX["campaign_id"]] = str(e.originator_id)
    extra = {n: getattr(e, n) for n in plan.payload}
    row[-1] = _json.encode(extra).decode() if extra else ""
    return row
