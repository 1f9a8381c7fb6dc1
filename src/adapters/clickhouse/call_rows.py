"""Pure mapping between the calls view's CallRow and a row of the ClickHouse `calls` table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.clickhouse.fact_rows import DATETIME, PRICE, converter, project_uuid, utc
from projections.calls_view import CallRow

_WHEN = f"Nullable({DATETIME})"
# One column per CallRow field, same name; schemas/clickhouse/0003_calls.sql spells them out.
CALL_COLUMNS: dict[str, str] = {
    "project_id": "UUID",
    "call_sid": "String",
    "direction": "LowCardinality(Nullable(String))",
    "from_number": "Nullable(String)",
    "to_number": "Nullable(String)",
    "parent_call_sid": "Nullable(String)",
    "status": "LowCardinality(String)",
    "last_sequence_number": "Nullable(Int64)",
    "last_event_time": _WHEN,
    "started_at": _WHEN,
    "answered_at": _WHEN,
    "ended_at": _WHEN,
    "answered_by": "LowCardinality(Nullable(String))",
    "duration_seconds": "Nullable(Int32)",
    "sip_response_code": "Nullable(Int32)",
    "is_final": "Bool",
    "finalized_at": _WHEN,
    "price": f"Nullable({PRICE})",
    "price_unit": "LowCardinality(Nullable(String))",
    "billed_duration_seconds": "Nullable(Int32)",
    "queue_time_ms": "Nullable(Int64)",
    "recording_sid": "Nullable(String)",
    "recording_status": "LowCardinality(Nullable(String))",
    "recording_url": "Nullable(String)",
    "recording_duration_seconds": "Nullable(Int32)",
    "recording_channels": "Nullable(Int16)",
    "campaign_id": "Nullable(String)",
    "attempt_id": "Nullable(String)",
    "sync_state": "LowCardinality(String)",
    "frozen_at": _WHEN,
    "version": "UInt32",
    "last_position": "UInt64",
    "created_at": DATETIME,
    "updated_at": DATETIME,
}
CALL_COLUMN_NAMES = list(CALL_COLUMNS)
_CONVERT = [(name, converter(kind)) for name, kind in CALL_COLUMNS.items()]
_CREATED, _UPDATED = CALL_COLUMN_NAMES.index("created_at"), CALL_COLUMN_NAMES.index("updated_at")


def call_row(call: CallRow) -> list[Any]:
    """The `calls` row of a call's latest state, in CALL_COLUMN_NAMES order."""
    row = [convert(getattr(call, name)) for name, convert in _CONVERT]
    row[0] = project_uuid(call.project_id)
    if call.created_at is None:  # the partition key: a Created event always sets it
        row[_CREATED] = row[_UPDATED]
    return row


def call_from_row(values: dict[str, Any]) -> CallRow:
    """Back from a `calls` row (as read with FINAL) to the state the fold continues from."""
    # Times may come back naive (chDB does): they are UTC, and the fold compares them.
    state: dict[str, Any] = {k: utc(v) if isinstance(v, datetime) else v for k, v in values.items()}
    state["project_id"] = str(state["project_id"])
    if isinstance(state["price"], Decimal):
        state["price"] = format(state["price"].normalize(), "f")
    state["is_final"] = bool(state["is_final"])
    return CallRow(**state)
