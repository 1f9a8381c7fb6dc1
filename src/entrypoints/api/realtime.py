"""RealtimeHub: one reader of the `call_events` feed, fanned out to SSE subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from adapters.postgres.calls_view import PostgresCallsView

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
HEARTBEAT_SECONDS = 15.0


def envelope(row: dict[str, Any]) -> dict[str, Any]:
    """Seed 000 section 4.2: type, ts, project_id, entity{type,id}, payload."""
    ts: datetime = row["recorded_at"]
    return {
        "type": row["event_type"],
        "ts": ts.isoformat(),
        "project_id": row["project_id"],
        "entity": {"type": "call", "id": row["call_sid"]},
        "payload": {**row["payload"], "call": row["snapshot"]},
    }


def wanted(row: dict[str, Any], types: frozenset[str]) -> bool:
    """No filter, an exact event type (`call.updated`), or an entity prefix (`recording`)."""
    kind = str(row["event_type"])
    return not types or kind in types or kind.split(".", 1)[0] in types


def sse_frame(row: dict[str, Any]) -> bytes:
    data = _json.encode(envelope(row)).decode()
    return f"id: {row['position']}\nevent: {row['event_type']}\ndata: {data}\n\n".encode()


@dataclass(frozen=True, slots=True)
class Frame:
    """A live event, encoded once however many subscribers it goes to."""

    position: int
    row: dict[str, Any]
    data: bytes


@dataclass(eq=False)
class Subscriber:
    project_id: str
    queue: asyncio.Queue[Frame] = field(default_factory=lambda: asyncio.Queue(maxsize=2000))
    overflowed: bool = False


class RealtimeHub:
    """A slow client only overflows its own queue; it is then cut and resumes by id."""

    def __init__(
        self, view: PostgresCallsView, observe_ms: Callable[[float], None] | None = None
    ) -> None:
        """`observe_ms` gets each event's delay from its commit to its publication, in ms."""
        self.view = view
        self.observe_ms = observe_ms
        self.position = 0
        self.wake = asyncio.Event()
        self._subscribers: dict[str, set[Subscriber]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        self.position = await self._head()
        while not stop.is_set():
            self.wake.clear()
            try:
                rows = await self.view.feed(self.position, 1000)
            except Exception as exc:
                log.warning("feed read failed", extra={"error": str(exc)})
                await asyncio.sleep(1.0)
                continue
            for row in rows:
                self._publish(row)
                self.position = row["position"]
            if len(rows) < 1000:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)

    async def _head(self) -> int:
        async with self.view.pool.connection() as conn:
            cur = await conn.execute("SELECT coalesce(max(position), 0) AS p FROM call_events")
            row = await cur.fetchone()
        return int(row["p"])

    def _publish(self, row: dict[str, Any]) -> None:
        if self.observe_ms is not None:
            delay = datetime.now(UTC) - row["recorded_at"]
            self.observe_ms(max(0.0, delay.total_seconds() * 1000))
        subscribers = self._subscribers.get(row["project_id"])
        if not subscribers:
            return
        frame = Frame(row["position"], row, sse_frame(row))
        for sub in subscribers:
            try:
                sub.queue.put_nowait(frame)
            except asyncio.QueueFull:
                sub.overflowed = True

    def subscribe(self, project_id: str) -> Subscriber:
        sub = Subscriber(project_id)
        self._subscribers.setdefault(project_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.get(sub.project_id, set()).discard(sub)

    async def stream(
        self, project_id: str, after: int | None, types: frozenset[str] = frozenset()
    ) -> AsyncIterator[bytes]:
        """Backlog from PostgreSQL, then live: subscribing first means nothing falls between,
        and the cursor drops what both paths deliver. `types` keeps only matching events;
        the cursor still moves past the others, so a resume never re-sends them."""
        sub = self.subscribe(project_id)
        try:
            cursor = self.position if after is None else after
            yield b"retry: 1000\n\n"
            while True:
                rows = await self.view.feed(cursor, 500, project_id=project_id)
                page = [sse_frame(row) for row in rows if wanted(row, types)]
                if page:
                    yield b"".join(page)  # one write per page, not per event
                if rows:
                    cursor = rows[-1]["position"]
                if len(rows) < 500:
                    break
            while not sub.overflowed:
                frames: list[Frame] = []
                if sub.queue.empty():
                    try:
                        frames.append(await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS))
                    except TimeoutError:
                        yield b": heartbeat\n\n"
                        continue
                while not sub.queue.empty():  # what else is already here goes in one write
                    frames.append(sub.queue.get_nowait())
                ready: list[bytes] = []
                for frame in frames:
                    if frame.position > cursor:
                        if wanted(frame.row, types):
                            ready.append(frame.data)
                        cursor = frame.position
                if ready:
                    yield b"".join(ready)
        finally:
            self.unsubscribe(sub)
