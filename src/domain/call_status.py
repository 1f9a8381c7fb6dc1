"""The provider call lifecycle as an explicit transition table, and the rule for observations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class CallStatus(StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"
    FAILED = "failed"


class IgnoreReason(StrEnum):
    """Why an observation was recorded but not applied."""

    STALE = "stale"
    DUPLICATE = "duplicate"
    AFTER_FINAL = "after_final"
    IMPOSSIBLE_TRANSITION = "impossible_transition"
    UNKNOWN_STATUS = "unknown_status"


S = CallStatus
FINAL: frozenset[CallStatus] = frozenset({S.COMPLETED, S.BUSY, S.NO_ANSWER, S.CANCELED, S.FAILED})
ACTIVE: frozenset[CallStatus] = frozenset(set(S) - FINAL)

# Progress rank: a status may only move to a strictly higher rank.
RANK: dict[CallStatus, int] = {
    S.QUEUED: 0,
    S.INITIATED: 1,
    S.RINGING: 2,
    S.IN_PROGRESS: 3,
    **{s: 4 for s in FINAL},
}

# Allowed moves. Twilio only sends the events a StatusCallbackEvent subscribes to, so
# intermediate steps may be skipped; an answered call can no longer be busy, unanswered
# or canceled.
TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    S.QUEUED: frozenset({S.INITIATED, S.RINGING, S.IN_PROGRESS} | FINAL),
    S.INITIATED: frozenset({S.RINGING, S.IN_PROGRESS} | FINAL),
    S.RINGING: frozenset({S.IN_PROGRESS} | FINAL),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED}),
    **{s: frozenset() for s in FINAL},
}


def parse_status(value: str) -> CallStatus | None:
    try:
        return CallStatus(value)
    except ValueError:
        return None


def judge_observation(
    current: CallStatus,
    last_sequence: int | None,
    last_event_time: datetime | None,
    observed: CallStatus | None,
    sequence: int | None,
    event_time: datetime | None,
) -> IgnoreReason | None:
    """Return why an observation must be ignored, or None when it applies.

    Order matters: a late observation is stale before it is impossible, so a reordered
    delivery is reported as such and never rolls the status back.
    """
    if observed is None:
        return IgnoreReason.UNKNOWN_STATUS
    if current in FINAL:
        return IgnoreReason.DUPLICATE if observed == current else IgnoreReason.AFTER_FINAL
    if sequence is not None and last_sequence is not None:
        if sequence <= last_sequence:
            return IgnoreReason.STALE
    elif event_time is not None and last_event_time is not None and event_time < last_event_time:
        return IgnoreReason.STALE
    if observed == current:
        return IgnoreReason.DUPLICATE
    if RANK[observed] < RANK[current]:
        return IgnoreReason.STALE
    if observed not in TRANSITIONS[current]:
        return IgnoreReason.IMPOSSIBLE_TRANSITION
    return None
