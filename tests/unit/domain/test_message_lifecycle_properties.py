"""Properties of the message lifecycle under reordered, repeated and replayed callbacks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.commands import CommandResult
from domain.message import Message, RecordMessageStatus, record_message_status
from domain.message_status import FINAL, RANK, TRANSITIONS, MessageStatus

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "SM" + "d" * 32
T0 = datetime(2026, 2, 12, 11, 48, tzinfo=UTC)
CODES = (30003, 30005, 30007, 30008, 63016)
CARRY_ERRORS = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERED})
LIBRARY_FIELDS = {"originator_id", "timestamp"}


class Callback(NamedTuple):
    status: str
    at: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None


@st.composite
def lifecycles(draw: st.DrawFn) -> list[Callback]:
    """A walk through the transition table, i.e. a real lifecycle with some steps unheard.

    It may start anywhere (the initial status triggers no callback). Times rise along it,
    several in one minute (RawDlrDoneDate has minute precision); failures carry an error.
    """
    status = draw(st.sampled_from(sorted(MessageStatus)))
    path = [status]
    while TRANSITIONS[status] and draw(st.integers(0, 3)):
        status = draw(st.sampled_from(sorted(TRANSITIONS[status])))
        path.append(status)
    minutes = itertools.accumulate(draw(st.lists(st.integers(0, 5), min_size=len(path))))
    return [
        Callback(
            str(s),
            T0 + timedelta(minutes=m) if draw(st.booleans()) else None,
            draw(st.none() | st.sampled_from(CODES)) if s in CARRY_ERRORS else None,
        )
        for s, m in zip(path, minutes, strict=False)
    ]


@st.composite
def deliveries(draw: st.DrawFn, lifecycle: list[Callback]) -> list[Callback]:
    """Every callback at least once, some more than once, in any order."""
    extra = draw(st.lists(st.sampled_from(lifecycle), max_size=2 * len(lifecycle)))
    return draw(st.permutations([*lifecycle, *extra]))


lifecycle_and_deliveries = lifecycles().flatmap(
    lambda lifecycle: st.tuples(st.just(lifecycle), deliveries(lifecycle))
)

# Anything at all, real lifecycle or not: contradictions, unknown statuses, odd errors.
any_callbacks = st.lists(
    st.builds(
        Callback,
        st.sampled_from([*map(str, MessageStatus), "partially_delivered"]),
        st.none() | st.integers(0, 30).map(lambda m: T0 + timedelta(minutes=m)),
        st.none() | st.sampled_from(CODES),
        st.sampled_from([None, "Unreachable", "unreachable handset"]),
    ),
    min_size=1,
    max_size=12,
)


def command(operation_id: str, callback: Callback) -> RecordMessageStatus:
    return RecordMessageStatus(
        operation_id=operation_id,
        project_id=PROJECT,
        message_sid=SID,
        status=callback.status,
        provider_event_time=callback.at,
        error_code=callback.error_code,
        error_message=callback.error_message,
    )


def deliver(callbacks: list[Callback]) -> tuple[Message, list[int]]:
    """Each callback as its own operation; the message, and its status rank after each."""
    message: Message | None = None
    ranks: list[int] = []
    for i, callback in enumerate(callbacks):
        message, _ = record_message_status(message, command(f"op-{i}", callback))
        ranks.append(-1 if message.status is None else RANK[message.status])
    assert message is not None
    return message, ranks


def outcome(message: Message) -> dict[str, Any]:
    facts = message.facts
    return {
        "status": message.status,
        "is_final": message.is_final,
        "facts": facts,
        "error": (facts.error_code, facts.error_message),
        "times": (facts.sent_at, facts.delivered_at, facts.read_at),
    }


def payloads(events: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in LIBRARY_FIELDS})
        for e in events
    ]


@settings(max_examples=300, deadline=None)
@given(lifecycle_and_deliveries)
def test_any_delivery_order_with_duplicates_ends_like_in_order_delivery(
    case: tuple[list[Callback], list[Callback]],
) -> None:
    lifecycle, delivered = case
    in_order, _ = deliver(lifecycle)

    reordered, _ = deliver(delivered)

    assert in_order.status == lifecycle[-1].status
    assert outcome(reordered) == outcome(in_order)
    if any(c.at is not None and c.status in FINAL for c in lifecycle):
        assert reordered.finalized_at == in_order.finalized_at
    assert (reordered.finalized_at is not None) == reordered.is_final


@settings(max_examples=300, deadline=None)
@given(lifecycle_and_deliveries)
def test_status_never_moves_back_in_rank_whatever_the_delivery_order(
    case: tuple[list[Callback], list[Callback]],
) -> None:
    _, delivered = case

    _, ranks = deliver(delivered)

    assert ranks == sorted(ranks)


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries, st.data())
def test_a_repeated_operation_id_changes_nothing_under_the_operations_table(
    case: tuple[list[Callback], list[Callback]], data: st.DataObject
) -> None:
    """The worker records each operation_id with its result in the same transaction as the
    events, and answers a repeat with the recorded result (adapters/postgres/inbox_worker)."""
    _, delivered = case
    once = [(f"webhook:{i}", c) for i, c in enumerate(delivered)]
    replayed: list[tuple[str, Callback]] = []
    for delivery in once:  # after each delivery, retries of any earlier one may arrive
        replayed.append(delivery)
        replayed += data.draw(st.lists(st.sampled_from(replayed), max_size=2))

    def run(stream: list[tuple[str, Callback]]) -> tuple[Message, list[Any], dict[str, Any]]:
        operations: dict[str, CommandResult] = {}
        message: Message | None = None
        events: list[Any] = []
        for operation_id, callback in stream:
            if operation_id in operations:
                continue
            message, operations[operation_id] = record_message_status(
                message, command(operation_id, callback)
            )
            events += message.collect_events()
        assert message is not None
        return message, events, operations

    single, single_events, single_results = run(once)
    double, double_events, double_results = run(replayed)

    assert payloads(double_events) == payloads(single_events)
    assert outcome(double) == outcome(single)
    assert double_results == single_results


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries, st.data())
def test_even_without_the_operations_table_a_replayed_callback_changes_no_state(
    case: tuple[list[Callback], list[Callback]], data: st.DataObject
) -> None:
    _, delivered = case
    message, _ = deliver(delivered)
    before = outcome(message)
    message.collect_events()

    for i, callback in enumerate(data.draw(st.permutations(delivered))):
        message, result = record_message_status(message, command(f"replay-{i}", callback))

        assert result.reason in ("duplicate", "stale")
    assert outcome(message) == before
    assert {type(e) for e in message.collect_events()} == {Message.ObservationIgnored}


@settings(max_examples=200, deadline=None)
@given(lifecycle_and_deliveries)
def test_every_delivered_callback_leaves_exactly_one_verdict_in_the_history(
    case: tuple[list[Callback], list[Callback]],
) -> None:
    _, delivered = case

    message, _ = deliver(delivered)

    verdicts = [
        e
        for e in message.collect_events()
        if isinstance(e, Message.StatusObserved | Message.ObservationIgnored)
    ]
    assert [(e.status, e.provider_event_time) for e in verdicts] == [
        (c.status, c.at) for c in delivered
    ]


@settings(max_examples=300, deadline=None)
@given(any_callbacks, st.data())
def test_facts_do_not_depend_on_arrival_order_even_for_contradictory_callbacks(
    callbacks: list[Callback], data: st.DataObject
) -> None:
    first, _ = deliver(callbacks)

    second, _ = deliver(data.draw(st.permutations(callbacks)))

    assert second.facts == first.facts
    assert (second.facts.error_code, second.facts.error_message) == (
        first.facts.error_code,
        first.facts.error_message,
    )


@settings(max_examples=100, deadline=None)
@given(any_callbacks)
def test_a_message_rebuilt_from_its_stored_events_equals_the_live_one(
    callbacks: list[Callback],
) -> None:
    mapper = Application().mapper
    live, _ = deliver(callbacks)

    rebuilt = None
    for event in live.collect_events():
        rebuilt = mapper.to_domain_event(mapper.to_stored_event(event)).mutate(rebuilt)

    assert isinstance(rebuilt, Message)
    assert outcome(rebuilt) == outcome(live)
    assert rebuilt.finalized_at == live.finalized_at
