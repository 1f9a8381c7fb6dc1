"""Drives a projection from the fast feed, repairing gaps and stalls from the event store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from projections.ports import EventFeed, EventSource, FeedMessage, ProjectionSink

log = logging.getLogger(__name__)


class ProjectionRunner:
    """Exactly-once effect from an at-least-once, possibly lossy feed.

    The feed's messages are used as they are only when they continue the sink's position
    without a hole; any hole (a lost message, or a sequence value a rolled-back writer
    consumed) is read back from the store. When the feed goes quiet the runner compares its
    position with the store's head, so a lost tail is repaired too.
    """

    def __init__(
        self,
        sink: ProjectionSink,
        feed: EventFeed,
        source: EventSource,
        *,
        batch_size: int = 500,
        stall_check_seconds: float = 2.0,
        linger_seconds: float = 0.0,
    ) -> None:
        """`linger_seconds`: after a batch short of `batch_size`, how long to let the next
        one gather. Freshness its readers can spare buys fewer, bigger transactions."""
        self.sink = sink
        self.feed = feed
        self.source = source
        self.batch_size = batch_size
        self.stall_check_seconds = stall_check_seconds
        self.linger_seconds = linger_seconds
        self.position = 0
        self.feed_down = False

    async def run(self, stop: asyncio.Event) -> None:
        self.position = await self.sink.position()
        await self.catch_up()
        last_check = time.monotonic()
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
                await self.handle(messages)
                if self.linger_seconds and len(messages) < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.linger_seconds)
            if time.monotonic() - last_check > self.stall_check_seconds:
                await self.catch_up()
                last_check = time.monotonic()
        await self.catch_up()  # a clean stop leaves nothing behind that the store has

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
