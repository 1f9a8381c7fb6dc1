"""The provider call lifecycle as an explicit transition table, and the rule for observations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from domain.transitions import closure


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
    AFTER_FREEZE = "after_freeze"


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


# Where a status can lead: an older observation is stale only if it could have led here.
REACHABLE = closure(TRANSITIONS)


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
    if observed == current:
        return IgnoreReason.DUPLICATE
    if current in FINAL and observed in FINAL:
        return IgnoreReason.AFTER_FINAL  # a different ending: a conflict, not news
    older = RANK[observed] < RANK[current] or (
        sequence <= last_sequence
        if sequence is not None and last_sequence is not None
        else event_time is not None and last_event_time is not None and event_time < last_event_time
    )
    if older:
        # Old news if it could have led to where the call is; otherwise it contradicts it
        # (an answer reported for a call that ended busy).
        if current in REACHABLE[observed]:
            return IgnoreReason.STALE
        return IgnoreReason.IMPOSSIBLE_TRANSITION
    if observed not in TRANSITIONS[current]:
        return IgnoreReason.IMPOSSIBLE_TRANSITION
    return None


# Recording statuses (callback: in-progress, completed, absent; REST adds the others).
_RECORDING_RANK = {
    "in-progress": 0,
    "paused": 0,
    "stopped": 1,
    "processing": 1,
    "completed": 2,
    "absent": 2,
    "deleted": 3,
}


def recording_rank(status: str) -> int:
    """Unknown statuses rank lowest: they can never replace a known one."""
    return _RECORDING_RANK.get(status, -1)
