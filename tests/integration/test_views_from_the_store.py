"""The new read models fed from the real event store: one mixed batch, and rebuilds that agree."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from views import with_pool

from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.rebuild import differences, rebuild
from domain_events import (
    PROJECT,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
)
from entrypoints.cli.projections import READ_MODELS

ALICE = "+14155551212"


def append_history(store: PostgresEventStore) -> int:
    """Three aggregates interleaved in the log, as the worker and the API write them."""
    campaign = completed_campaign().events
    _, sms = message_events(
        "SM1",
        [("sent", {}), ("undelivered", {"error_code": 30003})],
        **outbound_sms(ALICE),
    )
    batches = [
        campaign[:4],
        call_events("CA1", ["ringing", "in-progress", "completed"], to_number=ALICE),
        sms,
        campaign[4:],
        call_events("CA2", ["ringing", "busy"], direction="inbound", from_number=ALICE),
    ]
    for events in batches:
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), events)
    return store.head()


def test_one_batch_from_the_store_feeds_every_view_and_advances_each_past_it(
    store: PostgresEventStore, database_url: str
) -> None:
    head = append_history(store)
    items = store.read(0, None, 1_000)

    async def scenario(pool: Any) -> None:
        sinks = {name: make(pool, name) for name, (_, make) in READ_MODELS.items()}
        for sink in sinks.values():
            assert await sink.apply(items) == head
        messages, campaigns, conversations = (
            sinks["messages_view"],
            sinks["campaigns_view"],
            sinks["conversations_view"],
        )
        assert isinstance(messages, PostgresMessagesView)
        assert isinstance(campaigns, PostgresCampaignsView)
        assert isinstance(conversations, PostgresConversationsView)
        sms = await messages.get_message(PROJECT, "SM1")
        assert sms is not None
        assert (sms.status, sms.error_code) == ("undelivered", 30003)
        listed = (await campaigns.list_campaigns(PROJECT)).items
        assert [(c.state, c.attempts, c.exhausted) for c in listed] == [("completed", 3, 1)]
        (alice,) = (await conversations.list_conversations(PROJECT)).items
        assert (alice.total_calls, alice.total_messages) == (2, 1)

    with_pool(database_url, scenario)


@pytest.mark.parametrize("redelivered", [0, 2], ids=["disjoint batches", "overlapping batches"])
@pytest.mark.parametrize("name", sorted(READ_MODELS))
def test_a_rebuild_from_the_store_gives_the_rows_the_live_view_has(
    store: PostgresEventStore, database_url: str, name: str, redelivered: int
) -> None:
    append_history(store)
    tables, make = READ_MODELS[name]

    async def live(pool: Any) -> None:
        sink = make(pool, name)
        for start in range(0, store.head(), 4):  # other batch boundaries than the rebuild's
            # Overlapping: each batch starts with the last items of the one before, as a
            # feed redelivers them; the view applies only what follows its position.
            after = max(0, start - redelivered)
            await sink.apply(store.read(after, start + 4, 4 + redelivered))

    with_pool(database_url, live)
    position = asyncio.run(
        rebuild(database_url, store, name=name, tables=tables, make_sink=make, swap=False)
    )

    assert position == store.head()
    assert asyncio.run(differences(database_url, tables)) == dict.fromkeys(tables, 0)


def test_a_swapped_in_rebuild_keeps_answering_and_keeps_following(
    store: PostgresEventStore, database_url: str
) -> None:
    append_history(store)
    tables, make = READ_MODELS["conversations_view"]

    position = asyncio.run(
        rebuild(database_url, store, name="conversations_view", tables=tables, make_sink=make)
    )

    async def after(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        assert await sink.position() == position
        (alice,) = (await sink.list_conversations(PROJECT)).items
        assert (alice.total_calls, alice.total_messages) == (2, 1)
        more = call_events("CA3", ["ringing"], to_number=ALICE)
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), more)
        assert await sink.apply(store.read(position, None, 100)) == store.head()
        (alice,) = (await sink.list_conversations(PROJECT)).items
        assert alice.total_calls == 3
        assert await sink.recount() == 0

    with_pool(database_url, after)
