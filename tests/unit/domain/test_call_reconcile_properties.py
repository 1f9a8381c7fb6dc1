"""Reconcile converges: whatever subset of a call's callbacks arrived, in whatever order and
with whatever duplicates, applying `next_repair` until it has nothing left makes the call
agree with the provider; the repairs are a function of the provider's facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.call import Call, handle_call_command
from domain.call_commands import FreezeCall, RecordCallStatus, RecordRecordingStatus
from domain.call_reconcile import ProviderCall, ProviderRecording, next_repair

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "CA" + "e" * 32
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ProviderCall, list[Any]]:
    """The provider's record of a call, and the callbacks we received of it."""
    final = draw(st.sampled_from(["completed", "busy", "no-answer", "failed", "canceled"]))
    answered = final == "completed"
    steps = ["initiated", "ringing", *(["in-progress"] if answered else []), final]
    duration = draw(st.integers(1, 600)) if answered else 0
    amd = draw(st.sampled_from([None, "human", "machine_start"])) if answered else None
    recordings: tuple[ProviderRecording, ...] = ()
    if answered and draw(st.booleans()):
        recordings = (
            ProviderRecording(
                recording_sid="RE" + "1" * 32,
                status=draw(st.sampled_from(["completed", "absent"])),
                url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                duration_seconds=duration,
                channels=2,
            ),
        )
    provider = ProviderCall(
        call_sid=SID,
        status=final,
        direction="outbound-api",
        start_time=T0,
        end_time=T0 + timedelta(seconds=duration + 5),
        duration_seconds=duration,
        price=draw(st.sampled_from([None, "-0.01400"])) if answered else None,
        price_unit="USD",
        answered_by=amd,
        recordings=recordings,
    )
    callbacks: list[Any] = []
    for seq, status in enumerate(steps):
        ending = status == final
        callbacks.append(
            RecordCallStatus(
                operation_id=f"webhook:{seq}",
                project_id=PROJECT,
                call_sid=SID,
                status=status,
                sequence_number=seq,
                provider_event_time=T0 + timedelta(seconds=seq),
                direction="outbound-api",
                duration_seconds=duration if ending else None,
                answered_by=amd if status in ("in-progress", "completed") else None,
            )
        )
    for rec in recordings:
        callbacks.append(
            RecordRecordingStatus(
                operation_id=f"webhook:{rec.recording_sid}:in-progress",
                project_id=PROJECT,
                call_sid=SID,
                recording_sid=rec.recording_sid,
                status="in-progress",
            )
        )
    received = draw(st.lists(st.sampled_from(callbacks), max_size=10))  # drops, repeats, any order
    return provider, received


def converge(call: Call | None, provider: ProviderCall) -> tuple[Call | None, list[str]]:
    applied: list[str] = []
    tried: set[str] = set()
    for _ in range(8):
        repair = next_repair(call, provider, project_id=PROJECT, skip=frozenset(tried))
        if repair is None:
            break
        tried.add(repair.command.operation_id)
        call, _ = handle_call_command(call, repair.command)
        applied.append(repair.command.operation_id)
    return call, applied


@given(scenarios())
def test_repairs_make_any_received_subset_agree_with_the_provider(
    scenario: tuple[ProviderCall, list[Any]],
) -> None:
    provider, received = scenario
    call: Call | None = None
    for cmd in received:
        call, _ = handle_call_command(call, cmd)
    call, applied = converge(call, provider)
    assert call is not None
    assert str(call.status) == provider.status
    assert call.duration_seconds == provider.duration_seconds
    assert call.answered_by == provider.answered_by
    assert call.price == provider.price
    assert call.recordings == {r.recording_sid: r.status for r in provider.recordings}
    assert next_repair(call, provider, project_id=PROJECT) is None
    assert len(applied) == len(set(applied))


@given(scenarios())
def test_the_same_facts_name_the_same_operations(scenario: tuple[ProviderCall, list[Any]]) -> None:
    """A repeated reconcile finds the same operation ids, so the runner replays them."""
    provider, received = scenario
    first = second = None
    for cmd in received:
        first, _ = handle_call_command(first, cmd)
        second, _ = handle_call_command(second, cmd)
    assert converge(first, provider)[1] == converge(second, provider)[1]


@given(scenarios())
def test_a_frozen_call_is_left_alone(scenario: tuple[ProviderCall, list[Any]]) -> None:
    provider, _ = scenario
    call, _ = handle_call_command(
        None,
        RecordCallStatus(operation_id="w", project_id=PROJECT, call_sid=SID, status="busy"),
    )
    freeze = FreezeCall(
        operation_id="f",
        project_id=PROJECT,
        call_sid=SID,
        now=datetime.now(UTC) + timedelta(days=1),
    )
    call, _ = handle_call_command(call, freeze)
    assert call is not None
    assert call.frozen_at is not None
    assert next_repair(call, provider, project_id=PROJECT) is None
