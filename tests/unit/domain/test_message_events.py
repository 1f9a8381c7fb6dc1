"""Message events survive the event store's mapper and describe themselves as JSON Schema."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from domain.message import Message, RecordMessageStatus, record_message_status

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
T0 = datetime(2026, 2, 12, 11, 48, tzinfo=UTC)
EVENT_CLASSES = [
    v
    for k, v in vars(Message).items()
    if isinstance(v, type) and issubclass(v, Aggregate.Event) and k != "Event"
]
# Fields the library adds to every event; they are documented by eventsourcing, not here.
LIBRARY_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def history() -> tuple[Message, list[Any]]:
    """One message whose history holds every kind of event."""
    ops = itertools.count()
    steps: list[dict[str, Any]] = [
        {"status": "read", "channel": "whatsapp", "to_address": "whatsapp:+14155551212"},
        {"status": "delivered", "provider_event_time": T0},
        {"status": "sent"},
        {"status": "failed", "error_code": 63016, "error_message": "Outside the window"},
        {"status": "partially_delivered"},
        {"status": "read"},
        {"status": "delivered", "provider_event_time": T0 - timedelta(minutes=1)},
    ]
    message: Message | None = None
    events: list[Any] = []
    for step in steps:
        command = RecordMessageStatus(
            operation_id=f"op-{next(ops)}", project_id=PROJECT, message_sid="SM1", **step
        )
        message, _ = record_message_status(message, command)
        events += message.collect_events()
    assert message is not None
    return message, events


def state(message: Message) -> dict[str, Any]:
    return {k: v for k, v in vars(message).items() if k != "_pending_events"}


def test_the_history_covers_every_event_class() -> None:
    _, events = history()

    assert {type(e) for e in events} == set(EVENT_CLASSES)


def test_every_event_round_trips_through_the_stored_event_mapper() -> None:
    mapper = Application().mapper
    _, events = history()

    for event in events:
        assert mapper.to_domain_event(mapper.to_stored_event(event)) == event


def test_message_rebuilt_from_stored_events_matches_the_original() -> None:
    mapper = Application().mapper
    message, events = history()

    rebuilt = None
    for event in events:
        rebuilt = mapper.to_domain_event(mapper.to_stored_event(event)).mutate(rebuilt)

    assert isinstance(rebuilt, Message)
    assert state(rebuilt) == state(message)
    assert rebuilt.finalized_at == message.finalized_at == T0 - timedelta(minutes=1)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_event_class_has_a_json_schema_with_every_field_described(cls: type[Any]) -> None:
    schema = msgspec.json.schema(cls)

    body = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    ours = set(body["properties"]) - LIBRARY_FIELDS
    assert {"project_id", "message_sid", "operation_id", "trace_id"} <= ours
    for name in ours:
        assert body["properties"][name].get("description"), f"{cls.__name__}.{name}"
    assert (cls.__doc__ or "").strip(), f"{cls.__name__} needs a docstring (the schema title)"
