"""Campaign rules: limits, the working window across midnight and DST, retries, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.campaign_errors import CampaignConflict, InvalidCampaignCommand, RuleCode
from domain.campaign_rules import (
    ATTEMPT_TRANSITIONS,
    CLOSED,
    FINAL,
    LIFECYCLE,
    PROVIDER_STATUS,
    TRANSITIONS,
    AttemptIgnoreReason,
    AttemptResult,
    AttemptStatus,
    CampaignState,
    Limits,
    attempt_refusal,
    judge_attempt_observation,
    may_attempt,
    next_attempt_time,
    next_window_opening,
    settled_status,
    within_working_window,
)

BERLIN = "Europe/Berlin"


def limits(
    start: time = time(9),
    end: time = time(18),
    zone: str = BERLIN,
    *,
    retry: int = 3600,
    attempts: int = 3,
    concurrency: int = 2,
) -> Limits:
    return Limits(
        max_attempts_per_contact=attempts,
        retry_interval_seconds=retry,
        window_start=start,
        window_end=end,
        timezone=zone,
        max_concurrent_calls=concurrency,
    )


def utc(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


# Limits


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts_per_contact", 0),
        ("max_attempts_per_contact", 101),
        ("max_concurrent_calls", 0),
        ("retry_interval_seconds", -1),
        ("retry_interval_seconds", 31 * 24 * 3600),
        ("window_end", time(9)),
        ("window_start", time(9, tzinfo=UTC)),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("timezone", ""),
    ],
)
def test_limits_out_of_bounds_are_refused_as_invalid_limits(field: str, value: object) -> None:
    good = msgspec.structs.asdict(limits())

    with pytest.raises(InvalidCampaignCommand) as refused:
        Limits(**{**good, field: value})

    assert refused.value.code is RuleCode.INVALID_LIMITS


def test_limits_decoded_from_json_are_validated_too() -> None:
    body = (
        b'{"max_attempts_per_contact": 0, "retry_interval_seconds": 60, "window_start":'
        b' "09:00:00", "window_end": "18:00:00", "timezone": "UTC", "max_concurrent_calls": 1}'
    )

    with pytest.raises(InvalidCampaignCommand) as refused:
        msgspec.json.decode(body, type=Limits)

    assert refused.value.code is RuleCode.INVALID_LIMITS


def test_limits_survive_the_trip_through_plain_data() -> None:
    original = limits(time(22, 30), time(2), "America/New_York")

    assert Limits.from_data(original.to_data()) == original
    assert original.to_data()["window_start"] == "22:30:00"


# Working window


def test_window_is_read_in_the_campaign_time_zone_start_inclusive_end_exclusive() -> None:
    day = limits()  # 09:00-18:00 Berlin, CET (UTC+1) in February

    assert not within_working_window(day, utc("2026-02-10", "07:59:59"))
    assert within_working_window(day, utc("2026-02-10", "08:00:00"))
    assert within_working_window(day, utc("2026-02-10", "16:59:59"))
    assert not within_working_window(day, utc("2026-02-10", "17:00:00"))


def test_window_accepts_any_offset_and_refuses_naive_times() -> None:
    day = limits()
    tokyo = datetime(2026, 2, 10, 17, 30, tzinfo=ZoneInfo("Asia/Tokyo"))  # 09:30 Berlin

    assert within_working_window(day, tokyo)
    with pytest.raises(InvalidCampaignCommand) as refused:
        within_working_window(day, datetime(2026, 2, 10, 10))
    assert refused.value.code is RuleCode.NAIVE_DATETIME


def test_window_crossing_midnight_is_open_late_evening_and_early_morning() -> None:
    night = limits(time(22), time(2), "UTC")

    assert within_working_window(night, utc("2026-02-10", "22:00:00"))
    assert within_working_window(night, utc("2026-02-10", "23:59:59"))
    assert within_working_window(night, utc("2026-02-11", "01:59:59"))
    assert not within_working_window(night, utc("2026-02-11", "02:00:00"))
    assert not within_working_window(night, utc("2026-02-11", "12:00:00"))
    assert not within_working_window(night, utc("2026-02-11", "21:59:59"))


def test_window_follows_berlin_wall_clock_across_the_spring_dst_change() -> None:
    day = limits()  # clocks jump 02:00 CET -> 03:00 CEST on 2026-03-29

    assert within_working_window(day, utc("2026-03-28", "08:00:00"))  # 09:00 CET
    assert not within_working_window(day, utc("2026-03-29", "06:59:59"))  # 08:59 CEST
    assert within_working_window(day, utc("2026-03-29", "07:00:00"))  # 09:00 CEST
    assert not within_working_window(day, utc("2026-03-29", "16:00:00"))  # 18:00 CEST


def test_window_follows_berlin_wall_clock_across_the_autumn_dst_change() -> None:
    day = limits()  # clocks fall 03:00 CEST -> 02:00 CET on 2026-10-25

    assert within_working_window(day, utc("2026-10-24", "07:00:00"))  # 09:00 CEST
    assert not within_working_window(day, utc("2026-10-25", "07:00:00"))  # 08:00 CET
    assert within_working_window(day, utc("2026-10-25", "08:00:00"))  # 09:00 CET


def test_next_opening_is_now_when_the_window_is_open() -> None:
    at = utc("2026-02-10", "10:00:00")

    assert next_window_opening(limits(), at) == at


def test_next_opening_before_the_window_is_the_same_morning() -> None:
    assert next_window_opening(limits(), utc("2026-02-10", "05:00:00")) == utc(
        "2026-02-10", "08:00:00"
    )


def test_next_opening_after_the_window_is_the_next_morning() -> None:
    assert next_window_opening(limits(), utc("2026-02-10", "17:00:00")) == utc(
        "2026-02-11", "08:00:00"
    )


def test_next_opening_of_a_midnight_window_is_the_same_evening() -> None:
    night = limits(time(22), time(2), "UTC")

    assert next_window_opening(night, utc("2026-02-11", "02:00:00")) == utc(
        "2026-02-11", "22:00:00"
    )


def test_next_opening_on_the_spring_dst_morning_is_an_hour_earlier_in_utc() -> None:
    assert next_window_opening(limits(), utc("2026-03-28", "17:00:00")) == utc(
        "2026-03-29", "07:00:00"
    )


def test_window_starting_inside_the_spring_gap_opens_when_the_clocks_jump() -> None:
    early = limits(time(2, 30), time(6))  # 02:30 does not exist in Berlin on 2026-03-29

    opening = next_window_opening(early, utc("2026-03-28", "12:00:00"))

    assert opening == utc("2026-03-29", "01:00:00")  # 03:00 CEST
    assert within_working_window(early, opening)
    assert not within_working_window(early, opening - timedelta(microseconds=1))


def test_window_in_the_repeated_autumn_hour_reopens_on_its_second_pass() -> None:
    repeated = limits(time(2, 30), time(4))  # 02:30 happens twice in Berlin on 2026-10-25

    assert within_working_window(repeated, utc("2026-10-25", "00:45:00"))  # 02:45 CEST
    assert not within_working_window(repeated, utc("2026-10-25", "01:10:00"))  # 02:10 CET
    assert next_window_opening(repeated, utc("2026-10-25", "01:10:00")) == utc(
        "2026-10-25", "01:30:00"
    )  # 02:30 CET


def test_window_ending_in_the_repeated_hour_reopens_when_the_clocks_fall_back() -> None:
    ends_late = limits(time(1), time(2, 30))

    at = utc("2026-10-25", "00:50:00")  # 02:50 CEST, closed

    assert next_window_opening(ends_late, at) == utc("2026-10-25", "01:00:00")  # 02:00 CET


ZONES = [
    "UTC",
    BERLIN,
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    at=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
)
def test_next_opening_is_the_first_open_instant_at_or_after_the_given_time(
    zone: str, start: time, end: time, at: datetime
) -> None:
    if start == end:
        return
    window = limits(start, end, zone)

    opening = next_window_opening(window, at)

    assert opening >= at
    assert opening - at <= timedelta(days=2)
    assert within_working_window(window, opening)
    if opening > at:
        assert not within_working_window(window, opening - timedelta(microseconds=1))
        probe = at
        while probe < opening:
            assert not within_working_window(window, probe)
            probe += timedelta(minutes=7)


# Retries


def test_success_is_never_retried() -> None:
    assert next_attempt_time(limits(), utc("2026-02-10", "10:00:00"), AttemptResult.SUCCESS) is None


@pytest.mark.parametrize("result", [AttemptResult.NO_ANSWER, AttemptResult.BUSY])
def test_unanswered_attempt_is_retried_after_the_retry_interval(result: AttemptResult) -> None:
    finished = utc("2026-02-10", "10:00:00")

    assert next_attempt_time(limits(retry=1800), finished, result) == utc("2026-02-10", "10:30:00")


def test_retry_that_would_fall_after_closing_moves_to_the_next_opening() -> None:
    finished = utc("2026-02-10", "16:30:00")  # 17:30 Berlin, window closes 18:00

    assert next_attempt_time(limits(retry=3600), finished, AttemptResult.BUSY) == utc(
        "2026-02-11", "08:00:00"
    )


def test_retry_interval_is_elapsed_time_even_across_a_dst_change() -> None:
    night = limits(time(0), time(23, 59), retry=3600)
    finished = utc("2026-10-25", "00:30:00")  # 02:30 CEST, an hour before 02:30 CET

    assert next_attempt_time(night, finished, AttemptResult.NO_ANSWER) == utc(
        "2026-10-25", "01:30:00"
    )


def test_callback_is_due_at_the_requested_time_not_after_the_retry_interval() -> None:
    finished = utc("2026-02-10", "10:00:00")
    requested = utc("2026-02-10", "10:10:00")

    due = next_attempt_time(limits(retry=7200), finished, AttemptResult.CALLBACK_NEEDED, requested)

    assert due == requested


def test_callback_requested_outside_the_window_moves_to_the_next_opening() -> None:
    finished = utc("2026-02-10", "10:00:00")
    requested = utc("2026-02-10", "21:00:00")

    due = next_attempt_time(limits(), finished, AttemptResult.CALLBACK_NEEDED, requested)

    assert due == utc("2026-02-11", "08:00:00")


def test_callback_requested_in_the_past_is_due_when_the_attempt_finished() -> None:
    finished = utc("2026-02-10", "10:00:00")

    due = next_attempt_time(
        limits(), finished, AttemptResult.CALLBACK_NEEDED, finished - timedelta(hours=1)
    )

    assert due == finished


def test_callback_without_a_requested_time_waits_the_retry_interval() -> None:
    finished = utc("2026-02-10", "10:00:00")

    due = next_attempt_time(limits(retry=600), finished, AttemptResult.CALLBACK_NEEDED)

    assert due == finished + timedelta(minutes=10)


# Refusals


def refusal(
    state: CampaignState = CampaignState.RUNNING,
    *,
    used: int = 0,
    succeeded: bool = False,
    open_attempt: bool = False,
    active: int = 0,
) -> RuleCode | None:
    return attempt_refusal(
        state,
        limits(attempts=2, concurrency=2),
        attempts_used=used,
        succeeded=succeeded,
        open_attempt=open_attempt,
        active_calls=active,
    )


def test_a_fresh_contact_of_a_running_campaign_may_be_dialled() -> None:
    assert refusal() is None
    assert may_attempt(CampaignState.RUNNING, limits(), attempts_used=0, succeeded=False)


@pytest.mark.parametrize(
    "state", [s for s in CampaignState if s is not CampaignState.RUNNING], ids=str
)
def test_no_attempt_unless_the_campaign_is_running(state: CampaignState) -> None:
    assert refusal(state) is RuleCode.CAMPAIGN_NOT_RUNNING


def test_no_attempt_for_a_contact_that_succeeded() -> None:
    assert refusal(used=1, succeeded=True) is RuleCode.CONTACT_SUCCEEDED


def test_no_attempt_beyond_the_maximum_per_contact() -> None:
    assert refusal(used=1) is None
    assert refusal(used=2) is RuleCode.MAX_ATTEMPTS_REACHED


def test_no_attempt_while_the_previous_one_is_open() -> None:
    assert refusal(used=1, open_attempt=True) is RuleCode.ATTEMPT_OPEN


def test_no_attempt_at_the_concurrency_limit() -> None:
    assert refusal(active=1) is None
    assert refusal(active=2) is RuleCode.CONCURRENCY_LIMIT
    assert not may_attempt(
        CampaignState.RUNNING,
        limits(concurrency=2),
        attempts_used=0,
        succeeded=False,
        active_calls=2,
    )


# State tables


def test_stopped_and_completed_campaigns_have_no_way_out() -> None:
    for state in CLOSED:
        assert TRANSITIONS[state] == frozenset()


def test_every_lifecycle_command_follows_the_transition_table() -> None:
    for allowed, target in LIFECYCLE.values():
        for state in allowed:
            assert target in TRANSITIONS[state]


def test_final_attempt_statuses_have_no_way_out() -> None:
    assert {s for s, nxt in ATTEMPT_TRANSITIONS.items() if not nxt} == FINAL


def test_provider_statuses_map_onto_attempt_statuses() -> None:
    assert PROVIDER_STATUS["busy"] == (AttemptStatus.FAILED, AttemptResult.BUSY)
    assert PROVIDER_STATUS["no-answer"] == (AttemptStatus.FAILED, AttemptResult.NO_ANSWER)
    assert PROVIDER_STATUS["initiated"] == (AttemptStatus.INIT, None)


S = AttemptStatus
R = AttemptIgnoreReason
T = utc("2026-02-10", "10:00:00")


@pytest.mark.parametrize(
    ("current", "last_at", "observed", "observed_at", "expected"),
    [
        (S.INIT, None, "ringing", None, None),
        (S.RINGING, None, "completed", None, None),
        (S.INIT, None, "answered", None, R.UNKNOWN_STATUS),
        (S.COMPLETED, None, "completed", None, R.DUPLICATE),
        (S.COMPLETED, None, "failed", None, R.AFTER_FINAL),
        (S.RINGING, T, "in-progress", T - timedelta(seconds=1), R.STALE),
        (S.RINGING, None, "ringing", None, R.DUPLICATE),
        (S.IN_PROGRESS, None, "ringing", None, R.STALE),
        (S.IN_PROGRESS, None, "canceled", None, R.IMPOSSIBLE_TRANSITION),
    ],
)
def test_attempt_observations_are_judged_like_call_callbacks(
    current: AttemptStatus,
    last_at: datetime | None,
    observed: str,
    observed_at: datetime | None,
    expected: AttemptIgnoreReason | None,
) -> None:
    assert judge_attempt_observation(current, last_at, observed, observed_at) == expected


@pytest.mark.parametrize(
    ("current", "result", "expected"),
    [
        (S.RINGING, AttemptResult.NO_ANSWER, S.FAILED),
        (S.INIT, AttemptResult.BUSY, S.FAILED),
        (S.IN_PROGRESS, AttemptResult.SUCCESS, S.COMPLETED),
        (S.IN_PROGRESS, AttemptResult.CALLBACK_NEEDED, S.COMPLETED),
        (S.COMPLETED, AttemptResult.NO_ANSWER, S.COMPLETED),
        (S.CANCELED, AttemptResult.NO_ANSWER, S.CANCELED),
    ],
)
def test_a_result_settles_the_attempt_in_a_final_status(
    current: AttemptStatus, result: AttemptResult, expected: AttemptStatus
) -> None:
    assert settled_status(current, result) is expected


@pytest.mark.parametrize("current", [S.FAILED, S.CANCELED])
def test_a_call_that_failed_or_was_canceled_cannot_be_a_success(current: AttemptStatus) -> None:
    with pytest.raises(CampaignConflict) as refused:
        settled_status(current, AttemptResult.SUCCESS)

    assert refused.value.code is RuleCode.RESULT_CONTRADICTS_STATUS
