"""What a load generator replays (pre-signed requests) and what it reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """One webhook POST, signed ahead of time: the load generators only replay it."""

    signature: str
    idempotency_token: str
    body: str


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def ok(self) -> int:
        return self.requests - self.errors

    @property
    def rate(self) -> float:
        """Accepted (2xx) responses per second; errors do not count."""
        return self.ok / self.seconds if self.seconds else 0.0


class LoadGenerator(Protocol):
    name: str

    def describe(self, connections: int) -> str: ...

    def run(
        self, url: str, requests: Sequence[SignedRequest], *, seconds: int, connections: int
    ) -> LoadResult:
        """POST the requests in a loop (cycling) over `connections` keep-alive connections."""
        ...
