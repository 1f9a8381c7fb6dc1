"""JetStreamFeed on real NATS: it decodes only the events its projection reads, and hands
over the others undecoded with their positions, so the projection still moves past them."""

from __future__ import annotations

import asyncio

from eventsourcing.utils import get_topic

from adapters.nats.feed import JetStreamFeed
from adapters.nats.jetstream import JetStream
from adapters.nats.relay import NatsEventRelay
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
