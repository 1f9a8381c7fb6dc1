"""JetStreamFeed on real NATS: it decodes only the events its projection reads, and hands
over the others undecoded with their positions, so the projection still moves past them;
it acks a batch with one ack, and replaces a consumer made to ack each message."""

from __future__ import annotations

import asyncio

from eventsourcing.utils import get_topic
from nats.js.api import AckPolicy, ConsumerConfig
from waiting import eventually

from adapters.nats.feed import JetStreamFeed
from adapters.nats.jetstream import JetStream
from adapters.nats.relay import NatsEventRelay
from adapters.nats.wire import STREAM
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from domain.message import Message
from domain_events import call_events, message_events, outbound_sms
from projections.positioned import EVERY_EVENT, Unread


def test_a_feed_decodes_only_what_its_projection_reads(
    store: PostgresEventStore, database_url: str, nats_url: str
) -> None:
    _, sms = message_events("SM1", [("sent", {}), ("delivered", {})], **outbound_sms())
    for events in (call_events("CA1", ["ringing", "completed"]), sms):
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), events)
    head = store.head()
    in_store = {i.position: i.event for i in store.read(0, None, 100)}

    async def scenario() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        jetstream = JetStream(nats_url, "test-feed")
        try:
            assert await NatsEventRelay(store, pool, jetstream).publish_once(0) == head
            messages_only = JetStreamFeed(jetstream, "messages", store.mapper, (Message.Event,))
            everything = JetStreamFeed(jetstream, "everything", store.mapper, EVERY_EVENT)
            got = {m.position: m.item for m in await messages_only.fetch(100, timeout=5)}
            every = {m.position: m.item for m in await everything.fetch(100, timeout=5)}
        finally:
            await jetstream.close()
            await pool.close()

        assert sorted(got) == sorted(every) == sorted(in_store) == list(range(1, head + 1))
        for position, event in in_store.items():
            item, whole = got[position], every[position]
            assert item is not None
            assert whole is not None
            assert whole.event == event  # decoded as the store decodes it
            if isinstance(event, Message.Event):
                assert item.event == event
            else:
                assert item.event == Unread(get_topic(type(event)))

    asyncio.run(scenario())


def test_one_ack_for_a_batch_leaves_nothing_to_redeliver(
    store: PostgresEventStore, database_url: str, nats_url: str
) -> None:
    with store.connection() as conn, conn.transaction():
        store.append(conn.cursor(), call_events("CA1", ["ringing", "in-progress", "completed"]))
    head = store.head()

    async def scenario() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        jetstream = JetStream(nats_url, "test-feed")
        try:
            await NatsEventRelay(store, pool, jetstream).publish_once(0)
            feed = JetStreamFeed(jetstream, "calls", store.mapper)
            batch = await feed.fetch(100, timeout=5)
            assert [m.position for m in batch] == list(range(1, head + 1))
            js = await jetstream.context()
            assert (await js.consumer_info(STREAM, "calls")).num_ack_pending == head
            await feed.ack(batch)
            info = await eventually(
                lambda: js.consumer_info(STREAM, "calls"), lambda i: i.num_ack_pending == 0
            )
            assert info.config.ack_policy == AckPolicy.ALL
            assert info.num_pending == 0
        finally:
            await jetstream.close()
            await pool.close()

    asyncio.run(scenario())


def test_a_consumer_acking_each_message_is_replaced_and_reads_on(
    store: PostgresEventStore, database_url: str, nats_url: str
) -> None:
    """Durables made before ADR 0015 ack each message; JetStream cannot change that, so
    the feed replaces them. The new one delivers what is published from then on."""

    def record(sid: str) -> None:
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), call_events(sid, ["ringing"]))

    record("CA1")

    async def scenario() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        jetstream = JetStream(nats_url, "test-feed")
        relay = NatsEventRelay(store, pool, jetstream)
        try:
            published = await relay.publish_once(0)
            js = await jetstream.context()
            await js.add_consumer(
                STREAM, ConsumerConfig(durable_name="calls", ack_policy=AckPolicy.EXPLICIT)
            )
            feed = JetStreamFeed(jetstream, "calls", store.mapper)
            assert await feed.fetch(100, timeout=0.3) == []  # it starts at new messages
            info = await js.consumer_info(STREAM, "calls")
            assert info.config.ack_policy == AckPolicy.ALL

            await asyncio.to_thread(record, "CA2")
            await relay.publish_once(published)
            batch = await feed.fetch(100, timeout=5)
            assert [m.position for m in batch] == list(range(published + 1, store.head() + 1))
        finally:
            await jetstream.close()
            await pool.close()

    asyncio.run(scenario())
