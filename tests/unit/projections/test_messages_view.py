"""MessagesViewProjection: Message events fold into a `messages` row, its deliveries and errors."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.call import record_call_status
from domain.call_commands import RecordCallStatus
from domain.message import Message, RecordMessageStatus, record_message_status
from projections.messages_view import MessagesViewProjection, MessageView
from projections.positioned import PositionedEvent

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "SM" + "b" * 32
TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 2, 12, 11, 48, tzinfo=UTC)
_ops = itertools.count()


def observe(status: str, at: datetime | None = None, **fields: Any) -> RecordMessageStatus:
    return RecordMessageStatus(
        operation_id=f"webhook:{next(_ops)}",
        project_id=PROJECT,
        message_sid=SID,
        status=status,
        provider_event_time=at,
        trace_id=TRACE,
        **fields,
    )


def record(*commands: RecordMessageStatus) -> tuple[Message, list[Any]]:
    message: Message | None = None
    events: list[Any] = []
    for command in commands:
        message, _ = record_message_status(message, command)
        events += message.collect_events()
    assert message is not None
    return message, events


def project(events: list[Any], first_position: int = 100) -> MessageView:
    view: MessageView | None = None
    for position, event in enumerate(events, start=first_position):
        view = MessagesViewProjection.apply(view, PositionedEvent(position, event))
    assert view is not None
    return view


OUTBOUND = {
    "channel": "whatsapp",
    "direction": "outbound-api",
    "from_address": "whatsapp:+14155550100",
    "to_address": "whatsapp:+14155551212",
    "template_id": "HX123",
    "campaign_id": "c-1",
    "body_chars": 42,
    "segments": 1,
}


def test_created_event_starts_a_row_with_the_message_details_and_no_status() -> None:
    _, events = record(observe("mystery", **OUTBOUND))

    view = MessagesViewProjection.apply(None, PositionedEvent(7, events[0]))

    row = view.row
    assert (row.project_id, row.message_sid) == (PROJECT, SID)
    assert row.channel == "whatsapp"
    assert row.direction == "outbound-api"
    assert row.to_address == "whatsapp:+14155551212"
    assert (row.template_id, row.campaign_id, row.body_chars, row.segments) == (
        "HX123",
        "c-1",
        42,
        1,
    )
    assert row.status is None
    assert row.is_final is False
    assert row.created_at == events[0].timestamp
    assert (row.version, row.last_position) == (1, 7)
    assert view.deliveries == {}


def test_lifecycle_folds_into_a_read_row_with_every_time_and_one_delivery_per_status() -> None:
    message, events = record(
        observe("queued", **OUTBOUND),
        observe("sent", T0),
        observe("delivered", T0 + timedelta(seconds=3)),
        observe("read", T0 + timedelta(seconds=60)),
    )

    view = project(events)

    row = view.row
    assert row.status == "read"
    assert row.is_final is True
    assert row.sent_at == T0
    assert row.delivered_at == T0 + timedelta(seconds=3)
    assert row.read_at == T0 + timedelta(seconds=60)
    assert row.finalized_at == message.finalized_at == T0 + timedelta(seconds=3)
    assert row.version == message.version
    assert sorted(view.deliveries) == ["delivered", "queued", "read", "sent"]
    assert view.deliveries["queued"].reached_at is None
    assert view.deliveries["sent"].reached_at == T0


def test_a_failure_records_one_error_row_merged_across_reports() -> None:
    message, events = record(
        observe("sent", T0, **OUTBOUND),
        observe("failed", T0 + timedelta(seconds=5), error_code=63016),
        observe("failed", T0 + timedelta(seconds=9), error_code=63016, error_message="outside"),
    )

    view = project(events)

    assert view.row.status == "failed"
    assert (view.row.error_code, view.row.error_message) == (63016, "outside")
    assert list(view.errors) == [63016]
    error = view.errors[63016]
    assert (error.status, error.error_message) == ("failed", "outside")
    assert error.provider_event_time == T0 + timedelta(seconds=5)
    assert view.row.finalized_at == message.finalized_at


CALLBACKS = [
    ("sent", T0, {}),
    ("delivered", T0 + timedelta(seconds=2), {}),
    ("read", T0 + timedelta(seconds=30), {}),
    ("sent", T0 - timedelta(seconds=1), {}),
    ("failed", T0 + timedelta(seconds=40), {"error_code": 30008}),
    ("undelivered", None, {"error_code": 30003, "error_message": "unreachable"}),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CALLBACKS))))[::37])
def test_row_agrees_with_the_aggregate_whatever_the_arrival_order(order: tuple[int, ...]) -> None:
    commands = [observe(CALLBACKS[0][0], CALLBACKS[0][1], **OUTBOUND)] + [
        observe(CALLBACKS[i][0], CALLBACKS[i][1], **CALLBACKS[i][2]) for i in order
    ]
    message, events = record(*commands)

    view = project(events)

    row = view.row
    assert row.status == (message.status.value if message.status else None)
    assert row.is_final == message.is_final
    assert (row.sent_at, row.delivered_at, row.read_at) == (
        message.facts.sent_at,
        message.facts.delivered_at,
        message.facts.read_at,
    )
    assert (row.error_code, row.error_message) == (
        message.facts.error_code,
        message.facts.error_message,
    )
    assert row.finalized_at == message.finalized_at
    reported = {s for s, _, _ in CALLBACKS}
    assert set(view.deliveries) == reported
    assert {s.value: t for s, t in message.facts.times.items()} == {
        s: d.reached_at for s, d in view.deliveries.items() if d.reached_at
    }
    assert {c: (e.status, e.error_message) for c, e in view.errors.items()} == {
        c: (f.status, f.message) for c, f in message.facts.errors.items()
    }


def test_an_unknown_status_is_history_only() -> None:
    _, events = record(observe("sent", T0, **OUTBOUND), observe("partially_delivered"))

    view = project(events)

    assert view.row.status == "sent"
    assert set(view.deliveries) == {"sent"}
    assert view.row.version == len(events)


def test_handles_only_message_events() -> None:
    _, events = record(observe("sent", **OUTBOUND))
    call, _ = record_call_status(
        None,
        RecordCallStatus(operation_id="op", project_id=PROJECT, call_sid="CA1", status="ringing"),
    )

    assert all(MessagesViewProjection.handles(e) for e in events)
    assert not any(MessagesViewProjection.handles(e) for e in call.collect_events())


def test_event_for_a_message_that_was_never_created_is_refused() -> None:
    _, events = record(observe("queued", **OUTBOUND), observe("sent", T0))

    with pytest.raises(LookupError, match="position 55"):
        MessagesViewProjection.apply(None, PositionedEvent(55, events[1]))
