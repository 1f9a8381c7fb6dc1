"""The `events` row mapping: every field of every event class has a typed column."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args, get_origin, get_type_hints
from uuid import UUID

import pytest

from adapters.clickhouse.fact_rows import (
    COLUMN_NAMES,
    COLUMNS,
    COMMON_FIELDS,
    DROPPED_FIELDS,
    FIELD_COLUMNS,
    PAYLOAD_FIELDS,
    event_row,
    price,
    utc,
)
from domain.call import Call
from domain.campaign import Campaign
from domain.catalog import event_classes
from domain.message import Message
from projections.calls_view import CallRow
from projections.positioned import PositionedEvent

from .samples import AGGREGATE, CONTACTS, LIMITS, PROJECT, T0, ddl_columns, sample_event

ALL_EVENTS = sorted(event_classes().items())


def row_of(event: Any, call: CallRow | None = None) -> dict[str, Any]:
    return dict(zip(COLUMN_NAMES, event_row(PositionedEvent(42, event), call), strict=True))


def base_type(hint: Any) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in get_args(hint) if a is not type(None))
    return hint


def test_the_events_migration_declares_exactly_the_mapped_columns() -> None:
    assert ddl_columns("0002_events.sql", "events") == {
        name: kind.replace(" ", "") for name, kind in COLUMNS.items()
    }


@pytest.mark.parametrize(("event_type", "cls"), ALL_EVENTS)
def test_every_event_field_has_a_typed_column_or_is_documented_as_payload(
    event_type: str, cls: type[Any]
) -> None:
    covered = COMMON_FIELDS | FIELD_COLUMNS.keys() | PAYLOAD_FIELDS | DROPPED_FIELDS
    assert {f.name for f in fields(cls)} <= covered, f"{event_type} has a field with no column"


def test_every_typed_column_is_the_field_of_some_event() -> None:
    used = {f.name for _, cls in ALL_EVENTS for f in fields(cls)}
    assert set(FIELD_COLUMNS) <= used


@pytest.mark.parametrize(("event_type", "cls"), ALL_EVENTS)
def test_column_types_follow_the_field_types(event_type: str, cls: type[Any]) -> None:
    family = {str: ("String",), int: ("Int",), datetime: ("DateTime64",)}
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name not in FIELD_COLUMNS:
            continue
        kind = FIELD_COLUMNS[f.name]
        expected = ("Decimal",) if f.name == "price" else family[base_type(hints[f.name])]
        assert any(e in kind for e in expected), f"{event_type}.{f.name}: {kind}"
        optional = base_type(hints[f.name]) is not hints[f.name]
        assert kind.startswith(("Nullable", "LowCardinality(Nullable")) or not optional


@pytest.mark.parametrize(("event_type", "cls"), ALL_EVENTS)
def test_every_field_lands_in_its_own_column(event_type: str, cls: type[Any]) -> None:
    event = sample_event(cls)
    row = row_of(event)
    assert row["position"] == 42
    assert row["project_id"] == UUID(PROJECT)
    assert row["aggregate"] == event_type.split(".")[0]
    assert row["aggregate_id"] == AGGREGATE
    assert row["aggregate_version"] == 3
    assert row["event_type"] == event_type
    assert row["recorded_at"] == T0
    assert (row["operation_id"], row["trace_id"]) == ("operation_id-value", "trace_id-value")
    for f in fields(cls):
        if f.name in FIELD_COLUMNS:
            value = getattr(event, f.name)
            assert row[f.name] == (Decimal(value) if f.name == "price" else value), f.name


def test_a_nested_field_is_kept_as_json_in_payload() -> None:
    assert json.loads(row_of(sample_event(Campaign.ContactsAdded))["payload"]) == {
        "contacts": CONTACTS
    }
    assert json.loads(row_of(sample_event(Campaign.Created))["payload"]) == {"limits": LIMITS}
    assert row_of(sample_event(Call.Ended))["payload"] == ""


def test_event_time_is_the_events_own_time_else_when_it_was_recorded() -> None:
    ended = T0 + timedelta(seconds=50)
    assert row_of(sample_event(Call.Ended, ended_at=ended))["event_time"] == ended
    assert row_of(sample_event(Call.StatusObserved, provider_event_time=None))["event_time"] == T0
    planned = sample_event(Campaign.AttemptScheduled, scheduled_at=T0 + timedelta(days=1))
    assert row_of(planned)["event_time"] == T0


def test_a_call_event_names_its_calls_campaign_attempt_and_direction() -> None:
    call = CallRow(
        project_id=PROJECT,
        call_sid="CA1",
        campaign_id="camp-1",
        attempt_id="att-1",
        direction="outbound-api",
    )
    row = row_of(sample_event(Call.Ended), call)
    assert (row["campaign_id"], row["attempt_id"], row["direction"]) == (
        "camp-1",
        "att-1",
        "outbound-api",
    )
    created = row_of(sample_event(Call.Created), call)
    assert created["campaign_id"] == "campaign_id-value", "the event's own field wins"


def test_a_campaign_event_names_its_campaign_and_a_message_event_only_its_own() -> None:
    assert row_of(sample_event(Campaign.Paused))["campaign_id"] == str(AGGREGATE)
    assert row_of(sample_event(Message.StatusObserved))["campaign_id"] is None
    assert row_of(sample_event(Message.Created))["campaign_id"] == "campaign_id-value"


def test_times_are_utc_and_a_naive_time_is_read_as_utc() -> None:
    naive = datetime(2026, 2, 12, 11, 0)
    assert utc(naive) == naive.replace(tzinfo=UTC)
    berlin = datetime(2026, 2, 12, 12, 0, tzinfo=UTC).astimezone()
    assert utc(berlin) == datetime(2026, 2, 12, 12, 0, tzinfo=UTC)
    assert utc(berlin).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-0.00750", Decimal("-0.00750")),
        ("12", Decimal(12)),
        (None, None),
        ("", None),
        ("free", None),
        ("NaN", None),
        ("1e20", None),
    ],
)
def test_a_price_that_is_not_a_number_the_column_holds_becomes_null(
    text: str | None, expected: Decimal | None
) -> None:
    assert price(text) == expected
