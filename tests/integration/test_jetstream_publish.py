"""JetStream.publish_all on real NATS: pipelined publishes are all stored, in order, once;
a batch JetStream does not store raises instead of passing as published. The relay reads
the log again when the store wakes it, not after each batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.nats.jetstream import JetStream, PublishFailed
from adapters.nats.relay import NatsEventRelay
from adapters.nats.wire import STREAM, Header
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from domain_events import call_events


def test_a_batch_is_stored_in_order_and_a_repeat_is_not_stored_twice(nats_url: str) -> None:
    async def scenario() -> None:
        jetstream = JetStream(nats_url, "test-publish")
        try:
            batch = [
                (f"sb.p1.call.e{i % 3}", f"event {i}".encode(), {Header.MSG_ID: str(i)})
                for i in range(1, 301)
            ]
            await jetstream.publish_all(batch)
            await jetstream.publish_all(batch[100:])  # a relay retrying after a crash
            js = await jetstream.context()
            info = await js.stream_info(STREAM)
            assert info.state.messages == 300
            first, last = await js.get_msg(STREAM, 1), await js.get_msg(STREAM, 300)
            assert (first.data, last.data) == (b"event 1", b"event 300")
        finally:
            await jetstream.close()

    asyncio.run(scenario())


def test_a_message_no_stream_takes_fails_the_batch(nats_url: str) -> None:
    async def scenario() -> None:
        jetstream = JetStream(nats_url, "test-publish")
        try:
            good = ("sb.p1.call.created", b"{}", {Header.MSG_ID: "1"})
            stray = ("elsewhere.call", b"{}", {Header.MSG_ID: "2"})
            with pytest.raises(PublishFailed):
                await jetstream.publish_all([good, stray], timeout=5.0)
            await jetstream.publish_all([good])  # the connection is still good for the next
        finally:
            await jetstream.close()

    asyncio.run(scenario())


class CountingReads(PostgresEventStore):
    """The real store, counting the relay's reads of the log."""

    reads = 0

    def read_raw(self, after: int, limit: int) -> Sequence[Any]:
        self.reads += 1
        return super().read_raw(after, limit)


def test_the_relay_reads_the_log_again_when_woken_not_after_each_short_batch(
    database_url: str, nats_url: str
) -> None:
    store = CountingReads(database_url)

    def record(sid: str, statuses: list[str]) -> None:
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), call_events(sid, statuses))

    async def published(relay: NatsEventRelay) -> None:
        while await relay.checkpoint() < store.head():
            await asyncio.sleep(0.02)

    async def scenario() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        jetstream = JetStream(nats_url, "test-relay")
        relay = NatsEventRelay(store, pool, jetstream, poll_seconds=60)
        stop, wake = asyncio.Event(), asyncio.Event()
        await asyncio.to_thread(record, "CA1", ["ringing", "in-progress"])
        running = asyncio.create_task(relay.run(stop, wake))
        try:
            await asyncio.wait_for(published(relay), timeout=10)
            await asyncio.sleep(0.3)
            assert store.reads == 1  # a short batch was all there was

            await asyncio.to_thread(record, "CA2", ["ringing"])
            wake.set()  # the store's NOTIFY, as `listen` delivers it
            await asyncio.wait_for(published(relay), timeout=10)
            assert store.reads == 2
        finally:
            stop.set()
            wake.set()
            await running
            await jetstream.close()
            await pool.close()
            store.close()

    asyncio.run(scenario())
