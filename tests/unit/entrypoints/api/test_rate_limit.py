"""Per-project token buckets: a burst is allowed, then the rate; projects are independent."""

from __future__ import annotations

from entrypoints.api.rate_limit import TokenBuckets, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_requests_wait_for_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("p") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("p") == 0.5
    clock.now += 0.5
    assert buckets.take("p") == 0.0
    assert buckets.take("p") > 0


def test_one_project_exhausting_its_bucket_does_not_limit_another() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, clock=Clock())
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0


def test_tokens_never_accumulate_beyond_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=10.0, burst=2, clock=clock)
    buckets.take("p")
    clock.now += 3600
    assert [buckets.take("p") for _ in range(3)][-1] > 0


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one() -> None:
    assert retry_after(0.01) == "1"
    assert retry_after(1.2) == "2"
