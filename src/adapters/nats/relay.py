"""NatsEventRelay: publishes the store's notification log to JetStream, checkpointed in PG."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec

from adapters.nats.jetstream import JetStream
from adapters.nats.wire import Header, subject, traceparent
from adapters.postgres.event_store import PostgresEventStore

log = logging.getLogger(__name__)
RELAY_NAME = "relay:nats"


class _Routing(msgspec.Struct):
    project_id: str
    trace_id: str = ""


_routing = msgspec.json.Decoder(_Routing)


def _message(n: Any) -> tuple[str, bytes, dict[str, str]]:
    """A stored event as (subject, payload, headers) for JetStream."""
    routing = _routing.decode(n.state)
    position = str(n.id)
    return (
        subject(routing.project_id, n.topic),
        bytes(n.state),
        {
            Header.MSG_ID: position,
            Header.POSITION: position,
            Header.AGGREGATE_ID: str(n.originator_id),
            Header.AGGREGATE_VERSION: str(n.originator_version),
            Header.TOPIC: n.topic,
            Header.TRACEPARENT: traceparent(routing.trace_id, int(n.id)),
        },
    )


class NatsEventRelay:
    """At-least-once: publish a batch (pipelined), await every ack, then move the checkpoint.

    `Nats-Msg-Id` is the global position, so JetStream drops the repeats a crash between
    publish and checkpoint would cause; projections are idempotent on position anyway.
    """

    def __init__(
        self,
        store: PostgresEventStore,
        pool: Any,
        jetstream: JetStream,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        """`poll_seconds`: how long `run` waits for a wake-up before it reads anyway."""
        self.store = store
        self.pool = pool
        self.jetstream = jetstream
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds

    async def checkpoint(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT position FROM stream_positions WHERE name = %s", (RELAY_NAME,)
            )
            row = await cur.fetchone()
        return int(row["position"]) if row else 0

    async def _save(self, position: int) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO stream_positions (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position,"
                " updated_at = now()",
                (RELAY_NAME, position),
            )

    async def publish_once(self, after: int) -> int:
        """Publish what follows `after`; return the new checkpoint."""
        notifications = await asyncio.to_thread(self.store.read_raw, after, self.batch_size)
        if not notifications:
            return after
        await self.jetstream.publish_all([_message(n) for n in notifications])
        last = int(notifications[-1].id)
        await self._save(last)
        return last

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Drain the log; then sleep until the store's NOTIFY (or the poll) wakes us.
        A wake that came while a batch was published is not lost: the next read starts at
        once."""
        position = await self.checkpoint()
        failing = False
        while not stop.is_set():
            wake.clear()
            try:
                new = await self.publish_once(position)
            except Exception as exc:  # NATS or PG down: wait; the store keeps everything
                if not failing:
                    log.warning(
                        "relay cannot publish; retrying until it can",
                        extra={"error": f"{type(exc).__name__}: {exc}"},
                    )
                failing = True
                await asyncio.sleep(1.0)
                continue
            if failing:
                log.info("relay publishing again", extra={"position": new})
            failing = False
            # A short batch was everything committed before `wake` was cleared: what
            # commits later sets it again, so read again only after a full batch.
            full = new - position >= self.batch_size
            position = new
            if full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
