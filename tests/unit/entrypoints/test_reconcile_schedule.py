"""When a reconcile job is due: after its interval since the last success, and a failed
run is retried after a minute rather than after its (maybe daily) interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from entrypoints.workers.reconcile import RETRY_SECONDS, is_due

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
DAY = 86_400.0


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_a_job_that_never_ran_is_due() -> None:
    assert is_due((None, None), DAY, NOW)


def test_a_success_waits_for_the_interval() -> None:
    assert not is_due((ago(DAY - 1), None), DAY, NOW)
    assert is_due((ago(DAY), None), DAY, NOW)


def test_a_failure_is_retried_after_a_minute_not_a_day() -> None:
    assert not is_due((ago(2 * DAY), ago(RETRY_SECONDS - 1)), DAY, NOW)
    assert is_due((ago(2 * DAY), ago(RETRY_SECONDS)), DAY, NOW)
    assert is_due((None, ago(RETRY_SECONDS)), DAY, NOW)


def test_a_failure_older_than_the_last_success_does_not_count() -> None:
    assert not is_due((ago(10), ago(3600)), DAY, NOW)


def test_short_intervals_retry_at_their_own_pace() -> None:
    assert is_due((None, ago(30)), 20.0, NOW)
