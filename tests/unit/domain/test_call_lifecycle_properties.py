"""Properties of the call state machine under reordered and repeated provider callbacks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.call import Call, record_call_status
from domain.call_status import FINAL, RANK, CallStatus
from domain.commands import RecordCallStatus

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


def deliver(steps: list[Step], *, with_times: bool = False) -> tuple[Call, list[CallStatus]]:
    """Run each callback through the command handler; return the call and status after each."""
    operation_ids = itertools.count()
    call: Call | None = None
    seen: list[CallStatus] = []
    for status, seq in steps:
        command = RecordCallStatus(
            operation_id=f"op-{next(operation_ids)}",
            project_id=PROJECT,
            call_sid=SID,
            status=str(status),
            sequence_number=None if with_times else seq,
            provider_event_time=T0 + timedelta(seconds=seq) if with_times else None,
        )
        call, _ = record_call_status(call, command)
        seen.append(call.status)
    assert call is not None
    return call, seen


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_any_delivery_order_with_duplicates_ends_like_in_order_delivery(
    case: tuple[list[Step], list[Step]],
) -> None:
    lifecycle, delivered = case
    in_order, _ = deliver(lifecycle)

    reordered, _ = deliver(delivered)

    assert in_order.status is lifecycle[-1][0]
    assert reordered.status is in_order.status
    assert reordered.is_final
    assert reordered.last_sequence_number == lifecycle[-1][1]


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
    observations = events[1:]
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
