"""CallsViewProjection: Call events fold into the `calls` row and one `call_events` row each."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from domain.call import Call, record_call_status
from domain.call_commands import RecordCallStatus
from projections.calls_view import CallRow, CallsViewProjection, FeedRow
from projections.positioned import PositionedEvent

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "CA" + "e" * 32
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)
ANSWERED = T0 + timedelta(seconds=8)
ENDED = T0 + timedelta(seconds=50)


def call_events(*commands: RecordCallStatus) -> tuple[Call, list[Any]]:
    call: Call | None = None
    events: list[Any] = []
    for command in commands:
        call, _ = record_call_status(call, command)
        events += call.collect_events()
    assert call is not None
    return call, events


_ops = itertools.count()


def observe(status: str, seq: int, at: datetime | None = None, **fields: Any) -> RecordCallStatus:
    return RecordCallStatus(
        operation_id=f"webhook:{next(_ops)}",
        project_id=PROJECT,
        call_sid=SID,
        status=status,
        sequence_number=seq,
        provider_event_time=at,
        trace_id=TRACE,
        **fields,
    )


def project(events: list[Any], first_position: int = 100) -> tuple[CallRow, list[FeedRow]]:
    row: CallRow | None = None
    feed: list[FeedRow] = []
    for position, event in enumerate(events, start=first_position):
        row, out = CallsViewProjection.apply(row, PositionedEvent(position, event))
        feed.append(out)
    assert row is not None
    return row, feed


def answered_and_completed() -> tuple[Call, list[Any]]:
    return call_events(
        observe(
            "initiated",
            0,
            T0,
            direction="outbound-api",
            from_number="+15005550006",
            to_number="+14155551212",
        ),
        observe("ringing", 1, T0 + timedelta(seconds=2)),
        observe("in-progress", 2, ANSWERED),
        observe("completed", 3, ENDED, duration_seconds=42, sip_response_code=200),
    )


def test_created_event_starts_a_queued_row_with_the_call_details() -> None:
    _, events = answered_and_completed()
    created = events[0]

    row, feed = CallsViewProjection.apply(None, PositionedEvent(7, created))

    assert row.project_id == PROJECT
    assert row.call_sid == SID
    assert row.direction == "outbound-api"
    assert row.from_number == "+15005550006"
    assert row.to_number == "+14155551212"
    assert row.status == "queued"
    assert row.started_at == created.timestamp
    assert row.is_final is False
    assert row.version == 1
    assert row.last_position == 7
    assert feed.event_type == "call.created"
    assert feed.position == 7
    assert feed.aggregate_version == 1


def test_lifecycle_folds_into_an_answered_and_ended_row() -> None:
    call, events = answered_and_completed()

    row, feed = project(events, first_position=100)

    assert row.status == "completed"
    assert row.answered_at == ANSWERED
    assert row.is_final is True
    assert row.ended_at == ENDED
    assert row.finalized_at == ENDED
    assert row.duration_seconds == 42
    assert row.sip_response_code == 200
    assert row.last_sequence_number == 3
    assert row.last_event_time == ENDED
    assert row.version == call.version == 7
    assert row.last_position == 106
    # created, initiated, ringing, in-progress + answered, completed + ended
    assert [f.event_type for f in feed] == ["call.created"] + ["call.updated"] * 6


def test_row_agrees_with_the_aggregate_it_was_projected_from() -> None:
    call, events = answered_and_completed()

    row, _ = project(events)

    assert row.status == call.status.value
    assert row.is_final == call.is_final
    assert row.finalized_at == call.finalized_at
    assert row.last_sequence_number == call.last_sequence_number
    assert row.duration_seconds == call.duration_seconds


def test_call_that_was_never_answered_has_no_answered_at() -> None:
    _, events = call_events(observe("ringing", 1, T0), observe("no-answer", 2, ENDED))

    row, _ = project(events)

    assert row.status == "no-answer"
    assert row.answered_at is None
    assert row.ended_at == ENDED


def test_feed_row_carries_the_event_and_the_call_after_it() -> None:
    _, events = answered_and_completed()

    _, feed = project(events, first_position=100)

    answered = feed[3]  # the in-progress observation; feed[4] is the Answered fact
    assert feed[4].payload["answered_at"] == ANSWERED
    assert feed[4].snapshot.answered_at == ANSWERED
    assert answered.position == 103
    assert answered.project_id == PROJECT
    assert answered.call_sid == SID
    assert answered.aggregate_version == 4
    assert answered.event_time == ANSWERED
    assert answered.recorded_at == events[3].timestamp
    assert answered.status == "in-progress"
    assert answered.source == "webhook"
    assert answered.operation_id == events[3].operation_id
    assert answered.trace_id == TRACE
    assert answered.payload["status"] == "in-progress"
    assert answered.payload["sequence_number"] == 2
    assert not {"originator_id", "originator_version", "timestamp"} & answered.payload.keys()
    assert answered.snapshot.status == "in-progress"
    assert answered.snapshot.answered_at is None
    assert answered.snapshot.last_position == 103


def test_feed_snapshots_are_not_changed_by_later_events() -> None:
    _, events = answered_and_completed()

    _, feed = project(events)

    assert [f.snapshot.status for f in feed] == [
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "in-progress",
        "completed",
        "completed",
    ]
    assert [f.snapshot.answered_at is not None for f in feed] == [False] * 4 + [True] * 3
    assert [f.snapshot.ended_at is not None for f in feed] == [False] * 6 + [True]
    assert [f.snapshot.version for f in feed] == [1, 2, 3, 4, 5, 6, 7]


def test_ignored_observation_is_in_the_feed_but_does_not_change_the_call() -> None:
    _, events = call_events(
        observe("ringing", 1, T0),
        observe("in-progress", 2, ANSWERED),
        observe("ringing", 1, T0),
    )
    row_before, _ = project(events[:-1], first_position=10)

    row, ignored = CallsViewProjection.apply(
        msgspec.structs.replace(row_before), PositionedEvent(13, events[-1])
    )

    assert ignored.event_type == "call.observation_ignored"
    assert ignored.payload["reason"] == "stale"
    assert ignored.status == "ringing"
    assert ignored.snapshot.status == "in-progress"
    for name in (
        "status",
        "last_sequence_number",
        "last_event_time",
        "answered_at",
        "is_final",
        "ended_at",
    ):
        assert getattr(row, name) == getattr(row_before, name), name
    assert row.version == row_before.version + 1
    assert row.last_position == 13


def test_ignored_observation_after_final_does_not_reopen_the_row() -> None:
    _, events = call_events(
        observe("ringing", 1, T0),
        observe("busy", 2, ENDED),
        observe("in-progress", 3, ENDED + timedelta(seconds=1)),
    )

    row, feed = project(events)

    assert feed[-1].event_type == "call.observation_ignored"
    assert row.status == "busy"
    assert row.is_final is True
    assert row.ended_at == ENDED
    assert row.answered_at is None


def test_event_for_a_call_that_was_never_created_is_refused() -> None:
    _, events = answered_and_completed()

    with pytest.raises(LookupError, match="position 55"):
        CallsViewProjection.apply(None, PositionedEvent(55, events[1]))
