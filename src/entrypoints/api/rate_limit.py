"""Per-project token buckets for webhooks. They live in the API process: with N API
processes a project may get up to N times the configured rate (documented in README)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of)

    def take(self, key: str) -> float:
        """Spend one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    """Retry-After takes whole seconds: round up, never 0."""
    return str(max(1, math.ceil(seconds)))
