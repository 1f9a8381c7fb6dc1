"""Point in time: a call as of a version, or as the log knew it at a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.call import Call, record_call_status, replay
from domain.call_commands import RecordCallStatus

T0 = datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)


def history() -> list[Call.Event]:
    call: Call | None = None
    events: list[Call.Event] = []
    for seq, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        call, _ = record_call_status(
            call,
            RecordCallStatus(
                operation_id=f"op-{seq}",
                project_id="p",
                call_sid="CA1",
                status=status,
                sequence_number=seq,
                provider_event_time=T0 + timedelta(seconds=seq),
            ),
        )
        events += call.collect_events()
    return events


def test_as_of_a_version_shows_the_call_after_that_event() -> None:
    events = history()

    assert replay(events, version=1).status == "queued"  # type: ignore[union-attr]
    assert replay(events, version=3).status == "ringing"  # type: ignore[union-attr]
    assert replay(events).status == "completed"  # type: ignore[union-attr]


def test_as_of_a_time_between_two_events_shows_the_state_recorded_by_then() -> None:
    events = history()
    ringing = next(e for e in events if getattr(e, "status", None) == "ringing")
    answered = next(e for e in events if isinstance(e, Call.Answered))

    between = replay(events, as_of=ringing.timestamp + (answered.timestamp - ringing.timestamp) / 2)

    assert between is not None
    assert between.status in ("ringing", "in-progress")
    assert between.version < answered.originator_version
    assert between.answered_at is None


def test_before_the_first_event_there_is_no_call() -> None:
    events = history()

    assert replay(events, as_of=events[0].timestamp - timedelta(microseconds=1)) is None
