"""A campaign's dialing limits and the working-window clock, DST-correct through zoneinfo."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta

from domain.campaign_errors import InvalidCampaignCommand, RuleCode

MAX_ATTEMPTS_CEILING = 100
MAX_CONCURRENCY_CEILING = 10_000
MAX_RETRY_INTERVAL_SECONDS = 30 * 24 * 3600


class LimitsData(TypedDict):
    """Limits as plain JSON data, the form they take inside stored events."""

    max_attempts_per_contact: Annotated[int, Meta(description="Attempts allowed per contact.")]
    retry_interval_seconds: Annotated[int, Meta(description="Wait after an unanswered attempt.")]
    window_start: Annotated[str, Meta(description="Local wall-clock opening, HH:MM:SS.")]
    window_end: Annotated[str, Meta(description="Local wall-clock closing, HH:MM:SS.")]
    timezone: Annotated[str, Meta(description="IANA time zone of the window.")]
    max_concurrent_calls: Annotated[int, Meta(description="Calls in flight at most.")]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """How hard a campaign may dial. The window is [start, end) in local wall-clock time of
    `timezone`; start > end means it crosses midnight (22:00-02:00)."""

    max_attempts_per_contact: int
    retry_interval_seconds: int
    window_start: time
    window_end: time
    timezone: str
    max_concurrent_calls: int

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            raise InvalidCampaignCommand(RuleCode.INVALID_LIMITS, problem)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_data(self) -> LimitsData:
        return {
            "max_attempts_per_contact": self.max_attempts_per_contact,
            "retry_interval_seconds": self.retry_interval_seconds,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "timezone": self.timezone,
            "max_concurrent_calls": self.max_concurrent_calls,
        }

    @classmethod
    def from_data(cls, data: LimitsData) -> Limits:
        return cls(
            max_attempts_per_contact=data["max_attempts_per_contact"],
            retry_interval_seconds=data["retry_interval_seconds"],
            window_start=time.fromisoformat(data["window_start"]),
            window_end=time.fromisoformat(data["window_end"]),
            timezone=data["timezone"],
            max_concurrent_calls=data["max_concurrent_calls"],
        )


def _problem(limits: Limits) -> str | None:
    if not 1 <= limits.max_attempts_per_contact <= MAX_ATTEMPTS_CEILING:
        return f"max_attempts_per_contact must be between 1 and {MAX_ATTEMPTS_CEILING}"
    if not 1 <= limits.max_concurrent_calls <= MAX_CONCURRENCY_CEILING:
        return f"max_concurrent_calls must be between 1 and {MAX_CONCURRENCY_CEILING}"
    if not 0 <= limits.retry_interval_seconds <= MAX_RETRY_INTERVAL_SECONDS:
        return f"retry_interval_seconds must be between 0 and {MAX_RETRY_INTERVAL_SECONDS}"
    if limits.window_start.tzinfo is not None or limits.window_end.tzinfo is not None:
        return "window_start and window_end are local wall-clock times without an offset"
    if limits.window_start == limits.window_end:
        return "window_start and window_end must differ (a window may cross midnight)"
    try:
        ZoneInfo(limits.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA time zone {limits.timezone!r}"
    return None


def as_utc(at: datetime, field: str = "time") -> datetime:
    """Normalise an aware instant to UTC; a naive one has no meaning here and is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidCampaignCommand(
            RuleCode.NAIVE_DATETIME, f"{field} must carry a UTC offset", field=field
        )
    return at.astimezone(UTC)


def within_working_window(limits: Limits, at: datetime) -> bool:
    """True when the local wall-clock time at `at` lies in [window_start, window_end)."""
    local = as_utc(at).astimezone(limits.zone).time()
    start, end = limits.window_start, limits.window_end
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_window_opening(limits: Limits, at: datetime) -> datetime:
    """The first instant at or after `at` (returned in UTC) that lies in the working window.

    The window can only open where the wall clock passes window_start, or where it jumps
    (a DST transition), so those instants are the only candidates to check.
    """
    at = as_utc(at)
    if within_working_window(limits, at):
        return at
    zone = limits.zone
    day = at.astimezone(zone).date()
    candidates = {
        *(
            instant
            for d in (-1, 0, 1, 2)
            for instant in _wall_instants(day + timedelta(days=d), limits.window_start, zone)
        ),
        *_transitions(at, at + timedelta(days=3), zone),
    }
    for instant in sorted(c for c in candidates if c >= at):
        if within_working_window(limits, instant):
            return instant
    raise AssertionError("every zone has an open window within three days")  # pragma: no cover


def _wall_instants(day: date, wall: time, zone: ZoneInfo) -> set[datetime]:
    """Every real instant showing `wall` on `day`: two in a DST fold, none in a DST gap."""
    naive = datetime.combine(day, wall)
    instants = {naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return {i for i in instants if i.astimezone(zone).replace(tzinfo=None) == naive}


def _transitions(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Instants in [start, end] where the zone's UTC offset changes, to the microsecond."""
    found: list[datetime] = []
    step = timedelta(hours=12)
    lo = start
    while lo < end:
        hi = lo + step
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            found.append(_bisect_offset_change(lo, hi, zone))
        lo = hi
    return found


def _bisect_offset_change(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    after = hi.astimezone(zone).utcoffset()
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi
