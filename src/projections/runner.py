"""Drives a projection from the fast feed, repairing gaps and stalls from the event store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence

from projections.ports import EventFeed, EventSource, FeedMessage, ProjectionSink

log = logging.getLogger(__name__)


class ProjectionRunner:
    """Exactly-once effect from an at-least-once, possibly lossy feed.

    The feed's messages are used as they are only when they continue the sink's position
    without a hole; any hole (a lost message, or a sequence value a rolled-back writer
    consumed) is read back from the store. Every `stall_check_seconds` the runner also reads
    the store past its position, but only if the feed brought nothing new since the last
    check (a lost tail, or the feed down), or if the sink is still short of where the store
    was `max_lag_seconds` ago. A sink that is merely behind a flowing feed is left to the
    feed: reading the same events from the store too doubles the work, and it is work
    PostgreSQL does at full priority for views that run niced (ADR 0018).
    """

    def __init__(
        self,
        sink: ProjectionSink,
        feed: EventFeed,
        source: EventSource,
        *,
        batch_size: int = 500,
        stall_check_seconds: float = 2.0,
        max_lag_seconds: float = 5.0,
        linger_seconds: float = 0.0,
    ) -> None:
        """`linger_seconds`: after a batch short of `batch_size`, how long to let the next
        one gather. Freshness its readers can spare buys fewer, bigger transactions.
        `max_lag_seconds`: how far behind the store a flowing feed may leave the sink
        before the store fills the difference."""
        self.sink = sink
        self.feed = feed
        self.source = source
        self.batch_size = batch_size
        self.stall_check_seconds = stall_check_seconds
        self.max_lag_seconds = max_lag_seconds
        self.linger_seconds = linger_seconds
        self.position = 0
        self.feed_down = False

    async def run(self, stop: asyncio.Event) -> None:
        self.position = await self.sink.position()
        await self.catch_up()
        last_check = time.monotonic()
        fed = False  # the feed brought something past the position since the last check
        heads: deque[tuple[float, int]] = deque()  # the store's head at each check
        while not stop.is_set():
            try:
                messages = await self.feed.fetch(self.batch_size, timeout=0.5)
                if self.feed_down:
                    log.info("feed is back", extra={"projection": self.sink.name})
                self.feed_down = False
            except Exception as exc:
                if not self.feed_down:
                    log.warning(
                        "feed unavailable; following the store until it is back",
                        extra={
                            "projection": self.sink.name,
                            "error": f"{type(exc).__name__}: {exc}",
                        },
                    )
                self.feed_down = True
                messages = []
                await asyncio.sleep(0.5)
            if messages:
                fed = fed or max(m.position for m in messages) > self.position
                await self.handle(messages)
                if self.linger_seconds and len(messages) < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.linger_seconds)
            if time.monotonic() - last_check > self.stall_check_seconds:
                if not fed or await self._lagging(heads):
                    await self.catch_up()
                fed = False
                last_check = time.monotonic()
        await self.catch_up()  # a clean stop leaves nothing behind that the store has

    async def _lagging(self, heads: deque[tuple[float, int]]) -> bool:
        """Whether the sink is still short of the store's head of `max_lag_seconds` ago.
        `heads` keeps the newest sample at least that old, and every one after it."""
        now = time.monotonic()
        heads.append((now, await self.source.head()))
        while len(heads) > 1 and heads[1][0] <= now - self.max_lag_seconds:
            heads.popleft()
        sampled_at, head = heads[0]
        return sampled_at <= now - self.max_lag_seconds and self.position < head

    async def handle(self, messages: Sequence[FeedMessage]) -> None:
        fresh = sorted(
            {m.position: m for m in messages if m.position > self.position}.values(),
            key=lambda m: m.position,
        )
        if fresh:
            items = [m.item for m in fresh]
            expected = range(self.position + 1, self.position + 1 + len(fresh))
            whole = all(i is not None for i in items)
            if whole and [m.position for m in fresh] == list(expected):
                self.position = await self.sink.apply([i for i in items if i is not None])
            else:
                await self.catch_up(upto=fresh[-1].position)
        await self.feed.ack(messages)

    async def catch_up(self, upto: int | None = None) -> None:
        """Read (position, upto] from the store in batches and apply it."""
        while True:
            items = await self.source.read(self.position, upto, self.batch_size)
            if not items:
                return
            self.position = await self.sink.apply(items)
            if len(items) < self.batch_size:
                return
