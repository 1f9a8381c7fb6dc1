"""The message transition table and the judge of observations, checked as tables."""

from __future__ import annotations

import pytest

from domain.call_status import IgnoreReason
from domain.message_status import (
    EARLIER,
    FINAL,
    LATER,
    RANK,
    TRANSITIONS,
    Channel,
    MessageStatus,
    judge_message_observation,
    parse_channel,
    parse_message_status,
)

S = MessageStatus
R = IgnoreReason
INBOUND = frozenset({S.RECEIVING, S.RECEIVED})


def test_every_status_has_a_rank_and_a_row_in_the_table() -> None:
    assert set(RANK) == set(TRANSITIONS) == set(MessageStatus)


def test_every_allowed_move_goes_strictly_up_the_rank() -> None:
    for source, targets in TRANSITIONS.items():
        for target in targets:
            assert RANK[target] > RANK[source], (source, target)


def test_every_skip_is_allowed_so_a_lost_callback_never_blocks_progress() -> None:
    assert LATER == TRANSITIONS


def test_earlier_is_the_mirror_of_later() -> None:
    for status in MessageStatus:
        assert EARLIER[status] == {s for s in MessageStatus if status in LATER[s]}


def test_canceled_is_reachable_only_before_dispatch() -> None:
    assert {s for s in S if S.CANCELED in TRANSITIONS[s]} == {S.ACCEPTED, S.SCHEDULED, S.QUEUED}


def test_a_final_status_leads_nowhere_except_delivered_to_read() -> None:
    assert {(s, t) for s in FINAL for t in TRANSITIONS[s]} == {(S.DELIVERED, S.READ)}


def test_inbound_and_outbound_branches_never_meet() -> None:
    for source, targets in TRANSITIONS.items():
        for target in targets:
            assert (source in INBOUND) == (target in INBOUND), (source, target)


def test_statuses_and_channels_parse_and_unknown_values_do_not() -> None:
    assert parse_message_status("read") is S.READ
    assert parse_message_status("partially_delivered") is None
    assert parse_channel("whatsapp") is Channel.WHATSAPP
    assert parse_channel("rcs") is None
    assert parse_channel(None) is None


@pytest.mark.parametrize(
    ("current", "observed", "expected"),
    [
        (None, S.READ, None),
        (None, None, R.UNKNOWN_STATUS),
        (S.SENT, None, R.UNKNOWN_STATUS),
        (S.QUEUED, S.SENT, None),
        (S.QUEUED, S.DELIVERED, None),
        (S.DELIVERED, S.READ, None),
        (S.SENT, S.FAILED, None),
        (S.ACCEPTED, S.SCHEDULED, None),
        (S.SCHEDULED, S.CANCELED, None),
        (S.RECEIVING, S.RECEIVED, None),
        (S.SENT, S.SENT, R.DUPLICATE),
        (S.DELIVERED, S.DELIVERED, R.DUPLICATE),
        (S.DELIVERED, S.SENT, R.STALE),
        (S.READ, S.DELIVERED, R.STALE),
        (S.CANCELED, S.QUEUED, R.STALE),
        (S.FAILED, S.SENT, R.STALE),
        (S.SCHEDULED, S.ACCEPTED, R.STALE),
        (S.DELIVERED, S.UNDELIVERED, R.AFTER_FINAL),
        (S.UNDELIVERED, S.READ, R.AFTER_FINAL),
        (S.FAILED, S.DELIVERED, R.AFTER_FINAL),
        (S.CANCELED, S.SENT, R.AFTER_FINAL),
        (S.RECEIVED, S.DELIVERED, R.AFTER_FINAL),
        (S.SENDING, S.CANCELED, R.IMPOSSIBLE_TRANSITION),
        (S.SENT, S.CANCELED, R.IMPOSSIBLE_TRANSITION),
        (S.RECEIVING, S.SENT, R.IMPOSSIBLE_TRANSITION),
        (S.QUEUED, S.RECEIVED, R.IMPOSSIBLE_TRANSITION),
    ],
)
def test_judge_message_observation(
    current: MessageStatus | None, observed: MessageStatus | None, expected: IgnoreReason | None
) -> None:
    assert judge_message_observation(current, observed) == expected
