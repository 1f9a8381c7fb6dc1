"""Campaign and attempt state machines as explicit tables, and the pure rules of dialing."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from domain.campaign_errors import CampaignConflict, RuleCode
from domain.campaign_limits import (
    Limits,
    LimitsData,
    as_utc,
    next_window_opening,
    within_working_window,
)

__all__ = [
    "ATTEMPT_RANK",
    "ATTEMPT_TRANSITIONS",
    "CLOSED",
    "FINAL",
    "LIFECYCLE",
    "PROVIDER_STATUS",
    "TRANSITIONS",
    "AttemptIgnoreReason",
    "AttemptResult",
    "AttemptStatus",
    "CampaignState",
    "Lifecycle",
    "Limits",
    "LimitsData",
    "as_utc",
    "attempt_refusal",
    "judge_attempt_observation",
    "may_attempt",
    "next_attempt_time",
    "next_window_opening",
    "settled_status",
    "within_working_window",
]


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


C = CampaignState
# Completed is never commanded: the campaign reaches it when no contact has work left,
# which can happen while paused (the last in-flight attempt finishes after a pause).
TRANSITIONS: dict[CampaignState, frozenset[CampaignState]] = {
    C.DRAFT: frozenset({C.RUNNING, C.STOPPED}),
    C.RUNNING: frozenset({C.PAUSED, C.STOPPED, C.COMPLETED}),
    C.PAUSED: frozenset({C.RUNNING, C.STOPPED, C.COMPLETED}),
    C.STOPPED: frozenset(),
    C.COMPLETED: frozenset(),
}
CLOSED: frozenset[CampaignState] = frozenset({C.STOPPED, C.COMPLETED})


class AttemptStatus(StrEnum):
    INIT = "init"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    FAILED = "failed"
    COMPLETED = "completed"
    CANCELED = "canceled"


A = AttemptStatus
FINAL: frozenset[AttemptStatus] = frozenset({A.FAILED, A.COMPLETED, A.CANCELED})
ATTEMPT_RANK: dict[AttemptStatus, int] = {
    A.INIT: 0,
    A.RINGING: 1,
    A.IN_PROGRESS: 2,
    **{s: 3 for s in FINAL},
}
# Intermediate callbacks may be skipped (not subscribed); an answered call can only end
# completed or failed, as for calls.
ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    A.INIT: frozenset({A.RINGING, A.IN_PROGRESS} | FINAL),
    A.RINGING: frozenset({A.IN_PROGRESS} | FINAL),
    A.IN_PROGRESS: frozenset({A.COMPLETED, A.FAILED}),
    **{s: frozenset() for s in FINAL},
}


class AttemptResult(StrEnum):
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    SUCCESS = "success"
    CALLBACK_NEEDED = "callback-needed"


# Provider call status -> attempt status, and the result it already implies, for the
# worker that turns call events into attempt commands.
PROVIDER_STATUS: dict[str, tuple[AttemptStatus, AttemptResult | None]] = {
    "queued": (A.INIT, None),
    "initiated": (A.INIT, None),
    "ringing": (A.RINGING, None),
    "in-progress": (A.IN_PROGRESS, None),
    "completed": (A.COMPLETED, None),
    "busy": (A.FAILED, AttemptResult.BUSY),
    "no-answer": (A.FAILED, AttemptResult.NO_ANSWER),
    "canceled": (A.CANCELED, None),
    "failed": (A.FAILED, None),
}


class AttemptIgnoreReason(StrEnum):
    """Why a provider observation about an attempt was recorded but not applied."""

    STALE = "stale"
    DUPLICATE = "duplicate"
    AFTER_FINAL = "after_final"
    IMPOSSIBLE_TRANSITION = "impossible_transition"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_ATTEMPT = "unknown_attempt"
    CONFLICTING_CALL_SID = "conflicting_call_sid"


def judge_attempt_observation(
    current: AttemptStatus,
    last_observed_at: datetime | None,
    observed: str,
    observed_at: datetime | None,
) -> AttemptIgnoreReason | None:
    """Return why a status observation must be ignored, or None when it applies."""
    if observed not in AttemptStatus.__members__.values():
        return AttemptIgnoreReason.UNKNOWN_STATUS
    status = AttemptStatus(observed)
    if current in FINAL:
        return (
            AttemptIgnoreReason.DUPLICATE if status == current else AttemptIgnoreReason.AFTER_FINAL
        )
    if observed_at is not None and last_observed_at is not None and observed_at < last_observed_at:
        return AttemptIgnoreReason.STALE
    if status == current:
        return AttemptIgnoreReason.DUPLICATE
    if ATTEMPT_RANK[status] < ATTEMPT_RANK[current]:
        return AttemptIgnoreReason.STALE
    if status not in ATTEMPT_TRANSITIONS[current]:
        return AttemptIgnoreReason.IMPOSSIBLE_TRANSITION
    return None


def settled_status(current: AttemptStatus, result: AttemptResult) -> AttemptStatus:
    """The final status an attempt holds once its result is known."""
    answered = result in (AttemptResult.SUCCESS, AttemptResult.CALLBACK_NEEDED)
    if current in FINAL:
        if result is AttemptResult.SUCCESS and current is not A.COMPLETED:
            raise CampaignConflict(
                RuleCode.RESULT_CONTRADICTS_STATUS,
                f"an attempt that ended {current} cannot be a success",
                status=str(current),
                result=str(result),
            )
        return current
    return A.COMPLETED if answered else A.FAILED


def next_attempt_time(
    limits: Limits,
    last_finished_at: datetime,
    result: AttemptResult,
    requested_at: datetime | None = None,
) -> datetime | None:
    """When a contact may be dialled again (UTC), or None when it must not be.

    A callback the contact asked for replaces the retry interval; either way the time is
    rolled forward into the working window.
    """
    if result is AttemptResult.SUCCESS:
        return None
    finished = as_utc(last_finished_at, "last_finished_at")
    if result is AttemptResult.CALLBACK_NEEDED and requested_at is not None:
        earliest = max(as_utc(requested_at, "callback_at"), finished)
    else:
        earliest = finished + timedelta(seconds=limits.retry_interval_seconds)
    return next_window_opening(limits, earliest)


def attempt_refusal(
    state: CampaignState,
    limits: Limits,
    *,
    attempts_used: int,
    succeeded: bool,
    open_attempt: bool,
    active_calls: int,
) -> RuleCode | None:
    """The first rule that forbids a new attempt for a contact, or None."""
    if state is not CampaignState.RUNNING:
        return RuleCode.CAMPAIGN_NOT_RUNNING
    if succeeded:
        return RuleCode.CONTACT_SUCCEEDED
    if attempts_used >= limits.max_attempts_per_contact:
        return RuleCode.MAX_ATTEMPTS_REACHED
    if open_attempt:
        return RuleCode.ATTEMPT_OPEN
    if active_calls >= limits.max_concurrent_calls:
        return RuleCode.CONCURRENCY_LIMIT
    return None


def may_attempt(
    state: CampaignState,
    limits: Limits,
    *,
    attempts_used: int,
    succeeded: bool,
    open_attempt: bool = False,
    active_calls: int = 0,
) -> bool:
    return (
        attempt_refusal(
            state,
            limits,
            attempts_used=attempts_used,
            succeeded=succeeded,
            open_attempt=open_attempt,
            active_calls=active_calls,
        )
        is None
    )


class Lifecycle(StrEnum):
    """The lifecycle commands; each is allowed only from its listed states."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


LIFECYCLE: dict[Lifecycle, tuple[frozenset[CampaignState], CampaignState]] = {
    Lifecycle.START: (frozenset({C.DRAFT}), C.RUNNING),
    Lifecycle.PAUSE: (frozenset({C.RUNNING}), C.PAUSED),
    Lifecycle.RESUME: (frozenset({C.PAUSED}), C.RUNNING),
    Lifecycle.STOP: (frozenset({C.DRAFT, C.RUNNING, C.PAUSED}), C.STOPPED),
}
