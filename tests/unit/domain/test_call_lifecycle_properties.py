"""Properties of the call state machine under reordered and repeated provider callbacks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call, record_call_status
from domain.call_commands import RecordCallStatus
from domain.call_status import FINAL, RANK, CallStatus

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "CA" + "d" * 32
T0 = datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)
ACTIVE_STEPS = (
    CallStatus.QUEUED,
    CallStatus.INITIATED,
    CallStatus.RINGING,
    CallStatus.IN_PROGRESS,
)
# An answered call can only end completed or failed; anything else is not a real lifecycle.
ANSWERED_ENDINGS = (CallStatus.COMPLETED, CallStatus.FAILED)

Step = tuple[CallStatus, int]


@st.composite
def lifecycles(draw: st.DrawFn) -> list[Step]:
    """A provider lifecycle: some subscribed active steps, one final, sequence numbers rising."""
    statuses = [s for s in ACTIVE_STEPS if draw(st.booleans())]
    endings = ANSWERED_ENDINGS if CallStatus.IN_PROGRESS in statuses else sorted(FINAL)
    statuses.append(draw(st.sampled_from(endings)))
    start = draw(st.integers(0, 2))
    gaps = draw(st.lists(st.integers(1, 3), min_size=len(statuses), max_size=len(statuses)))
    sequence_numbers = [start + sum(gaps[:i]) for i in range(len(statuses))]
    return list(zip(statuses, sequence_numbers, strict=True))


@st.composite
def deliveries(draw: st.DrawFn, lifecycle: list[Step]) -> list[Step]:
    """Every callback at least once, some more than once, in any order."""
    extra = draw(st.lists(st.sampled_from(lifecycle), max_size=2 * len(lifecycle)))
    return draw(st.permutations([*lifecycle, *extra]))


lifecycle_and_deliveries = lifecycles().flatmap(
    lambda lifecycle: st.tuples(st.just(lifecycle), deliveries(lifecycle))
)


def command(status: CallStatus, seq: int, op: str, *, with_seq: bool = True) -> RecordCallStatus:
    final = status in FINAL
    return RecordCallStatus(
        operation_id=op,
        project_id=PROJECT,
        call_sid=SID,
        status=str(status),
        sequence_number=seq if with_seq else None,
        provider_event_time=T0 + timedelta(seconds=seq),
        duration_seconds=seq * 7 if final else None,
        sip_response_code=200 if final else None,
    )


def deliver(steps: list[Step], *, with_times: bool = False) -> tuple[Call, list[CallStatus]]:
    """Run each callback through the command handler; return the call and status after each.

    `with_times`: no SequenceNumber, so only provider times can order the callbacks.
    """
    operation_ids = itertools.count()
    call: Call | None = None
    seen: list[CallStatus] = []
    for status, seq in steps:
        call, _ = record_call_status(
            call, command(status, seq, f"op-{next(operation_ids)}", with_seq=not with_times)
        )
        seen.append(call.status)
    assert call is not None
    return call, seen


def facts(call: Call) -> dict[str, object]:
    """Everything a call knows, without the bookkeeping of how it learnt it."""
    return {
        name: getattr(call, name)
        for name in (
            "status",
            "is_final",
            "finalized_at",
            "answered_at",
            "duration_seconds",
            "sip_response_code",
            "last_sequence_number",
            "last_event_time",
        )
    }


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_any_delivery_order_with_duplicates_ends_like_in_order_delivery(
    case: tuple[list[Step], list[Step]],
) -> None:
    lifecycle, delivered = case
    in_order, _ = deliver(lifecycle)

    reordered, _ = deliver(delivered)

    assert in_order.status is lifecycle[-1][0]
    assert in_order.is_final
    answered = CallStatus.IN_PROGRESS in [s for s, _ in lifecycle]
    assert (in_order.answered_at is not None) is answered
    assert facts(reordered) == facts(in_order)


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries, st.data())
def test_reapplying_commands_changes_no_fact_even_without_the_operations_table(
    case: tuple[list[Step], list[Step]], data: st.DataObject
) -> None:
    """The operations table makes a repeated operation_id a no-op (tested on PostgreSQL);
    the domain must be safe on its own too, should a repeat ever slip through."""
    _, delivered = case
    commands = [command(s, seq, f"op-{i}") for i, (s, seq) in enumerate(delivered)]
    once: Call | None = None
    for cmd in commands:
        once, _ = record_call_status(once, cmd)
    assert once is not None
    twice: Call | None = None
    for cmd in commands:
        twice, _ = record_call_status(twice, cmd)
    for cmd in data.draw(st.lists(st.sampled_from(commands), min_size=1)):
        twice, result = record_call_status(twice, cmd)
        assert result.outcome.value == "ignored"
    assert twice is not None
    assert facts(twice) == facts(once)


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_status_never_moves_back_in_rank_whatever_the_delivery_order(
    case: tuple[list[Step], list[Step]],
) -> None:
    _, delivered = case

    _, seen = deliver(delivered)

    ranks = [RANK[s] for s in seen]
    assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_every_delivered_callback_is_kept_in_the_history(
    case: tuple[list[Step], list[Step]],
) -> None:
    _, delivered = case

    call, _ = deliver(delivered)

    events = list(call.collect_events())
    assert isinstance(events[0], Call.Created)
    observations = [
        e
        for e in events
        if isinstance(e, Call.StatusObserved)
        or (isinstance(e, Call.ObservationIgnored) and e.kind == "status")
    ]
    assert [e.status for e in observations] == [str(s) for s, _ in delivered]
    assert [e.sequence_number for e in observations] == [seq for _, seq in delivered]


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_provider_times_alone_also_order_callbacks_correctly(
    case: tuple[list[Step], list[Step]],
) -> None:
    lifecycle, delivered = case

    call, seen = deliver(delivered, with_times=True)

    assert call.status is lifecycle[-1][0]
    ranks = [RANK[s] for s in seen]
    assert ranks == sorted(ranks)
