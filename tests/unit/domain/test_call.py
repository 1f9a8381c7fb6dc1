"""The Call aggregate: given earlier callbacks, when one more arrives, then these events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application

from domain.call import Call, call_id, handle_call_command, record_call_status
from domain.call_commands import EnrichCall, FreezeCall, RecordCallStatus, RecordRecordingStatus
from domain.call_status import CallStatus
from domain.commands import CommandResult, Outcome, Source

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
OTHER_PROJECT = "0e2a7c55-3b8d-4f61-a1c4-9d2e8b7f6a30"
SID = "CA" + "b" * 32
TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)

_operation_ids = itertools.count()


def observe(
    status: str,
    seq: int | None = None,
    *,
    at: datetime | None = None,
    project: str = PROJECT,
    **fields: Any,
) -> RecordCallStatus:
    return RecordCallStatus(
        operation_id=f"op-{next(_operation_ids)}",
        project_id=project,
        call_sid=SID,
        status=status,
        sequence_number=seq,
        provider_event_time=at,
        trace_id=TRACE,
        **fields,
    )


def given(*commands: RecordCallStatus) -> Call:
    call: Call | None = None
    for command in commands:
        call, _ = record_call_status(call, command)
    assert call is not None
    call.collect_events()
    return call


def when(call: Call | None, command: RecordCallStatus) -> tuple[Call, CommandResult, list[Any]]:
    call, result = record_call_status(call, command)
    return call, result, list(call.collect_events())


def state(call: Call) -> dict[str, Any]:
    return {k: v for k, v in vars(call).items() if k != "_pending_events"}


def test_first_callback_opens_the_call_and_records_its_status() -> None:
    command = observe(
        "initiated",
        0,
        at=T0,
        direction="outbound-api",
        from_number="+15005550006",
        to_number="+14155551212",
        parent_call_sid=None,
    )

    call, result, events = when(None, command)

    assert [type(e) for e in events] == [Call.Created, Call.StatusObserved]
    created, observed = events
    assert created.project_id == PROJECT
    assert created.call_sid == SID
    assert created.direction == "outbound-api"
    assert created.from_number == "+15005550006"
    assert created.to_number == "+14155551212"
    assert created.operation_id == command.operation_id
    assert created.trace_id == TRACE
    assert observed.status == "initiated"
    assert observed.sequence_number == 0
    assert observed.provider_event_time == T0
    assert observed.source == "webhook"
    assert call.id == call_id(PROJECT, SID)
    assert call.status is CallStatus.INITIATED
    assert result == CommandResult(
        operation_id=command.operation_id, outcome=Outcome.APPLIED, aggregate_id=str(call.id)
    )


def test_first_callback_saying_queued_is_applied_not_reported_as_duplicate() -> None:
    call, result, events = when(None, observe("queued", 0))

    assert [type(e) for e in events] == [Call.Created, Call.StatusObserved]
    assert result.outcome is Outcome.APPLIED
    assert call.status is CallStatus.QUEUED
    assert call.last_sequence_number == 0


def test_child_leg_keeps_its_parent_call_sid() -> None:
    parent = "CA" + "c" * 32

    call, _, events = when(None, observe("initiated", 0, parent_call_sid=parent))

    assert events[0].parent_call_sid == parent
    assert call.parent_call_sid == parent


def test_in_order_lifecycle_applies_every_status_and_ends_final() -> None:
    call = None
    kinds = []
    for seq, status in enumerate(["initiated", "ringing", "in-progress"]):
        call, result, events = when(call, observe(status, seq, at=T0 + timedelta(seconds=seq)))
        kinds += [type(e) for e in events]
        assert result.outcome is Outcome.APPLIED
    end = T0 + timedelta(seconds=45)

    call, result, events = when(
        call, observe("completed", 3, at=end, duration_seconds=42, sip_response_code=200)
    )

    assert result.outcome is Outcome.APPLIED
    assert [type(e) for e in events] == [Call.StatusObserved, Call.Ended]
    assert kinds == [Call.Created] + [Call.StatusObserved] * 3 + [Call.Answered]
    assert call.status is CallStatus.COMPLETED
    assert call.is_final
    assert call.answered_at == T0 + timedelta(seconds=2)
    assert call.finalized_at == end
    assert call.last_sequence_number == 3
    assert call.last_event_time == end
    assert call.duration_seconds == 42
    assert call.sip_response_code == 200
    assert call.version == 7


def test_late_ringing_callback_is_ignored_as_stale_and_keeps_the_call_answered() -> None:
    call = given(observe("initiated", 0), observe("in-progress", 2))

    call, result, events = when(call, observe("ringing", 1))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    (ignored,) = events
    assert ignored.reason == "stale"
    assert ignored.status == "ringing"
    assert ignored.sequence_number == 1
    assert result.outcome is Outcome.IGNORED
    assert result.reason == "stale"
    assert call.status is CallStatus.IN_PROGRESS
    assert call.last_sequence_number == 2


def test_repeated_sequence_number_is_stale_when_it_could_have_led_here() -> None:
    call = given(observe("ringing", 1))

    call, result, _ = when(call, observe("initiated", 1))

    assert result.reason == "stale"
    assert call.status is CallStatus.RINGING


def test_an_answer_older_than_the_ringing_it_must_follow_is_impossible() -> None:
    call = given(observe("ringing", 1))

    call, result, events = when(call, observe("in-progress", 1))

    assert result.reason == "impossible_transition"
    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert call.status is CallStatus.RINGING
    assert call.answered_at is None


def test_without_sequence_numbers_an_older_provider_time_is_stale() -> None:
    call = given(observe("ringing", at=T0 + timedelta(seconds=5)))

    call, result, events = when(call, observe("initiated", at=T0))

    assert events[0].reason == "stale"
    assert result.outcome is Outcome.IGNORED
    assert call.status is CallStatus.RINGING


def test_without_sequence_or_time_a_lower_status_is_stale() -> None:
    call = given(observe("in-progress"))

    call, result, _ = when(call, observe("ringing"))

    assert result.reason == "stale"
    assert call.status is CallStatus.IN_PROGRESS


def test_same_active_status_again_without_sequence_number_is_a_duplicate() -> None:
    call = given(observe("ringing"))

    call, result, events = when(call, observe("ringing"))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert result.reason == "duplicate"
    assert call.status is CallStatus.RINGING


def test_late_ringing_callback_does_not_reopen_completed_call() -> None:
    call = given(observe("initiated", 0), observe("completed", 3, at=T0))

    call, result, events = when(call, observe("ringing", 4))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert events[0].reason == "stale"
    assert result.reason == "stale"
    assert call.status is CallStatus.COMPLETED
    assert call.last_sequence_number == 3


def test_a_conflicting_ending_after_final_is_ignored_as_after_final() -> None:
    call = given(observe("initiated", 0), observe("completed", 3, at=T0))

    call, result, events = when(call, observe("busy", 4))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert result.reason == "after_final"
    assert call.status is CallStatus.COMPLETED


def test_late_answer_after_the_end_is_kept_as_a_fact_without_reopening() -> None:
    end = T0 + timedelta(seconds=40)
    call = given(observe("completed", 3, at=end, duration_seconds=30))

    call, result, events = when(call, observe("in-progress", 2, at=T0 + timedelta(seconds=10)))

    assert [type(e) for e in events] == [Call.ObservationIgnored, Call.Answered]
    assert result.reason == "stale"
    assert call.status is CallStatus.COMPLETED
    assert call.answered_at == T0 + timedelta(seconds=10)


def test_a_different_final_status_after_final_is_ignored_as_after_final() -> None:
    call = given(observe("ringing", 1), observe("no-answer", 2))

    call, result, _ = when(call, observe("failed", 3))

    assert result.reason == "after_final"
    assert call.status is CallStatus.NO_ANSWER


def test_same_final_status_repeated_is_a_duplicate() -> None:
    call = given(observe("ringing", 1), observe("busy", 2, sip_response_code=486))

    call, result, events = when(call, observe("busy", 2, sip_response_code=486))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert events[0].reason == "duplicate"
    assert result.outcome is Outcome.IGNORED
    assert result.reason == "duplicate"
    assert call.status is CallStatus.BUSY


def test_answered_call_cannot_become_busy() -> None:
    call = given(observe("ringing", 1), observe("in-progress", 2))

    call, result, events = when(call, observe("busy", 3))

    assert events[0].reason == "impossible_transition"
    assert result.reason == "impossible_transition"
    assert call.status is CallStatus.IN_PROGRESS
    assert not call.is_final


def test_answered_call_can_still_fail() -> None:
    call = given(observe("in-progress", 2))

    call, result, _ = when(call, observe("failed", 3))

    assert result.outcome is Outcome.APPLIED
    assert call.status is CallStatus.FAILED


def test_unknown_status_is_kept_as_history_but_not_applied() -> None:
    call = given(observe("ringing", 1))

    call, result, events = when(call, observe("answered", 2))

    assert [type(e) for e in events] == [Call.ObservationIgnored]
    assert events[0].reason == "unknown_status"
    assert events[0].status == "answered"
    assert result.reason == "unknown_status"
    assert call.status is CallStatus.RINGING
    assert call.last_sequence_number == 1


def test_first_callback_with_unknown_status_still_opens_the_call() -> None:
    call, result, events = when(None, observe("answered", 0))

    assert [type(e) for e in events] == [Call.Created, Call.ObservationIgnored]
    assert result.reason == "unknown_status"
    assert call.status is CallStatus.QUEUED


@pytest.mark.parametrize("final", ["completed", "busy", "no-answer", "canceled", "failed"])
def test_final_status_marks_the_call_final_at_the_provider_time(final: str) -> None:
    call = given(observe("ringing", 1, at=T0))
    assert not call.is_final
    assert call.finalized_at is None
    end = T0 + timedelta(seconds=30)

    call, _, _ = when(call, observe(final, 2, at=end))

    assert call.is_final
    assert call.finalized_at == end


def test_finalized_at_falls_back_to_the_recording_time_without_provider_time() -> None:
    call = given(observe("ringing", 1))

    call, _, events = when(call, observe("completed", 2))

    assert [type(e) for e in events] == [Call.StatusObserved, Call.Ended]
    assert call.finalized_at == events[1].ended_at
    assert abs(events[1].ended_at - events[0].timestamp) < timedelta(seconds=1)


def test_ignored_observations_do_not_move_finalized_at() -> None:
    end = T0 + timedelta(seconds=30)
    call = given(observe("ringing", 1, at=T0), observe("completed", 2, at=end))

    call, _, _ = when(call, observe("completed", 3, at=end + timedelta(seconds=5)))

    assert call.finalized_at == end


def test_source_of_the_observation_is_recorded() -> None:
    _, _, events = when(None, observe("ringing", 1, source=Source.RECONCILE))

    assert events[1].source == "reconcile"


def history() -> tuple[Call, list[Any]]:
    events: list[Any] = []
    call: Call | None = None
    commands = [
        observe("initiated", 0, at=T0, direction="outbound-api", from_number="+15005550006"),
        observe("in-progress", 2, at=T0 + timedelta(seconds=9)),
        observe("ringing", 1, at=T0 + timedelta(seconds=3)),
        observe("busy", 3),
        observe("answered", 4),
        observe("completed", 5, at=T0 + timedelta(seconds=60), duration_seconds=51),
        observe("completed", 5, at=T0 + timedelta(seconds=60), duration_seconds=51),
    ]
    for command in commands:
        call, _, new = when(call, command)
        events += new
    assert call is not None
    facts: list[Any] = [
        RecordRecordingStatus(
            operation_id="rec",
            project_id=PROJECT,
            call_sid=SID,
            recording_sid="RE" + "1" * 32,
            status="completed",
            url="https://media.example/RE1",
            duration_seconds=50,
            channels=2,
        ),
        EnrichCall(
            operation_id="price",
            project_id=PROJECT,
            call_sid=SID,
            price="-0.0130",
            price_unit="USD",
            source=Source.RECONCILE,
        ),
        FreezeCall(
            operation_id="freeze", project_id=PROJECT, call_sid=SID, now=T0 + timedelta(days=1)
        ),
    ]
    for fact in facts:
        handled, _ = handle_call_command(call, fact)
        assert handled is call
        events += call.collect_events()
    return call, events


def test_rebuilding_from_its_events_yields_the_same_call() -> None:
    call, events = history()

    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)

    assert isinstance(rebuilt, Call)
    assert state(rebuilt) == state(call)
    assert rebuilt.is_final


def test_every_event_round_trips_through_the_stored_event_mapper() -> None:
    mapper = Application().mapper
    _, events = history()
    assert {type(e) for e in events} == {
        Call.Created,
        Call.StatusObserved,
        Call.Answered,
        Call.Ended,
        Call.Enriched,
        Call.RecordingUpdated,
        Call.Frozen,
        Call.ObservationIgnored,
    }

    for event in events:
        stored = mapper.to_stored_event(event)
        assert mapper.to_domain_event(stored) == event


def test_call_rebuilt_from_stored_events_matches_the_original() -> None:
    mapper = Application().mapper
    call, events = history()

    rebuilt = None
    for event in events:
        rebuilt = mapper.to_domain_event(mapper.to_stored_event(event)).mutate(rebuilt)

    assert state(rebuilt) == state(call)


def test_call_id_is_stable_so_existing_streams_stay_reachable() -> None:
    assert call_id(PROJECT, SID) == UUID("853c33c7-d43a-5ddb-b437-6116d4dbffef")
    assert call_id(PROJECT, SID) == call_id(PROJECT, SID)


def test_same_call_sid_in_two_projects_is_two_calls() -> None:
    first, _, _ = when(None, observe("ringing", 1))
    second, _, _ = when(None, observe("ringing", 1, project=OTHER_PROJECT))

    assert call_id(PROJECT, SID) != call_id(OTHER_PROJECT, SID)
    assert first.id == call_id(PROJECT, SID)
    assert second.id == call_id(OTHER_PROJECT, SID)


def test_a_call_opened_by_its_recording_learns_its_parties_from_the_first_status() -> None:
    recording = RecordRecordingStatus(
        operation_id="rec-first",
        project_id=PROJECT,
        call_sid=SID,
        recording_sid="RE" + "2" * 32,
        status="in-progress",
    )
    call, _ = handle_call_command(None, recording)
    assert call is not None
    assert (call.direction, call.from_number, call.to_number) == (None, None, None)
    call.collect_events()

    parties = {"direction": "outbound-dial", "from_number": "+14155550100"}
    parties |= {"to_number": "+16505550199", "parent_call_sid": "CA" + "c" * 32}
    _, _, events = when(call, observe("ringing", 1, **parties))
    enriched = [e for e in events if isinstance(e, Call.Enriched)]
    assert [(e.direction, e.from_number, e.to_number, e.parent_call_sid) for e in enriched] == [
        tuple(parties.values())
    ]
    assert (call.direction, call.to_number, call.parent_call_sid) == (
        "outbound-dial",
        "+16505550199",
        "CA" + "c" * 32,
    )
    # Known parties are never rewritten by a later callback, nor re-announced.
    _, _, later = when(call, observe("in-progress", 2, **{**parties, "direction": "inbound"}))
    assert not [e for e in later if isinstance(e, Call.Enriched) and e.direction]
    assert call.direction == "outbound-dial"
