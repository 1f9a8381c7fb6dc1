"""PostgresConversationsView on real PostgreSQL: seed 003's conversation API, exact counters."""

from __future__ import annotations

from typing import Any

import psycopg
from views import snapshot, stored_position, with_pool

from adapters.postgres.conversations_view import PostgresConversationsView
from domain_events import (
    OTHER_PROJECT,
    PROJECT,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
    positioned,
)
from projections.conversations_view import conversation_id

TABLES = ("contacts", "conversations", "conversation_items")
ALICE, BOB, OURS = "+14155551212", "+14155550199", "+15005550006"


def history() -> list[Any]:
    """Alice: an outbound call, an SMS, an inbound call, a WhatsApp reply. Bob: one call.
    Made in that order, so their Created times (occurred_at) follow it too."""
    events = call_events(
        "CA1", ["initiated", "ringing", "in-progress", "completed"], to_number=ALICE
    )
    events += message_events("SM1", [("queued", {}), ("delivered", {})], **outbound_sms(ALICE))[1]
    events += call_events("CA2", ["ringing", "no-answer"], direction="inbound", from_number=ALICE)
    events += call_events("CA3", ["ringing", "busy"], to_number=BOB)
    events += message_events(
        "SM2",
        [("received", {})],
        channel="whatsapp",
        direction="inbound",
        from_address=f"whatsapp:{ALICE}",
        to_address=f"whatsapp:{OURS}",
    )[1]
    return events


def fresh_counts(database_url: str) -> dict[str, tuple[int, int]]:
    """(calls, messages) per conversation, recounted from the items by an independent query."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT conversation_id::text, count(*) FILTER (WHERE kind = 'call'),"
            " count(*) FILTER (WHERE kind = 'message') FROM conversation_items"
            " WHERE conversation_id IS NOT NULL GROUP BY 1"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def stored_counts(database_url: str) -> dict[str, tuple[int, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT conversation_id::text, total_calls, total_messages FROM conversations"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_conversations_answer_the_old_api_with_totals_and_newest_first_items(
    database_url: str,
) -> None:
    events = history()
    foreign = call_events("CA1", ["ringing"], project=OTHER_PROJECT, to_number=ALICE)

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        await sink.apply(positioned(events + foreign))

        page = await sink.list_conversations(PROJECT)
        assert [c.address for c in page.items] == [ALICE, BOB]  # Alice's reply came last
        alice = page.items[0]
        assert alice.conversation_id == conversation_id(PROJECT, ALICE)
        assert alice.metadata["total_calls"] == 2
        assert alice.metadata["total_messages"] == 2
        reply_created = next(e for e in events if getattr(e, "message_sid", "") == "SM2")
        assert alice.metadata["last_activity_at"] == reply_created.timestamp
        assert alice.first_activity_at == events[0].timestamp

        items = await sink.conversation_items(PROJECT, alice.conversation_id)
        assert [(i.kind, i.sid) for i in items.items] == [
            ("message", "SM2"),
            ("call", "CA2"),
            ("message", "SM1"),
            ("call", "CA1"),
        ]
        first = items.items[-1]
        assert (first.status, first.is_final, first.duration_seconds) == ("completed", True, 42)
        assert items.items[0].channel == "whatsapp"
        assert items.next_cursor is None

        theirs = await sink.list_conversations(OTHER_PROJECT)
        assert [(c.address, c.metadata["total_calls"]) for c in theirs.items] == [(ALICE, 1)]
        assert await sink.get_conversation(OTHER_PROJECT, alice.conversation_id) is None
        assert (await sink.conversation_items(OTHER_PROJECT, alice.conversation_id)).items == []
        assert await sink.get_conversation(PROJECT, "42") is None
        assert (await sink.conversation_items(PROJECT, "42")).items == []

    with_pool(database_url, scenario)


def test_pages_of_conversations_and_items_neither_skip_nor_repeat(database_url: str) -> None:
    events = history()

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        await sink.apply(positioned(events))
        first = await sink.list_conversations(PROJECT, limit=1)
        rest = await sink.list_conversations(PROJECT, limit=1, cursor=first.next_cursor)
        assert [c.address for c in first.items + rest.items] == [ALICE, BOB]
        assert rest.next_cursor is None
        cid = conversation_id(PROJECT, ALICE)
        seen, cursor = [], None
        while True:
            page = await sink.conversation_items(PROJECT, cid, limit=3, cursor=cursor)
            seen += [i.sid for i in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert seen == ["SM2", "CA2", "SM1", "CA1"]

    with_pool(database_url, scenario)


def test_counters_equal_a_fresh_recount_after_every_batch(database_url: str) -> None:
    items = positioned(history())

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        for start in range(0, len(items), 3):
            await sink.apply(items[start : start + 3])
            assert stored_counts(database_url) == fresh_counts(database_url)
        assert await sink.recount() == 0
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE conversations SET total_calls = total_calls + 5")
        assert await sink.recount(OTHER_PROJECT) == 0
        assert await sink.recount(PROJECT) == 2
        assert stored_counts(database_url) == fresh_counts(database_url)

    with_pool(database_url, scenario)


def test_applying_the_same_items_twice_changes_nothing(database_url: str) -> None:
    items = positioned(history())

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        await sink.apply(items[:7])
        await sink.apply(items)
        before = snapshot(database_url, *TABLES)
        assert await sink.apply(items) == len(items)
        assert await sink.apply(items[5:12]) == len(items)
        assert snapshot(database_url, *TABLES) == before

    with_pool(database_url, scenario)


def test_a_batch_of_calls_messages_and_campaigns_advances_past_all_of_them(
    database_url: str,
) -> None:
    campaign = completed_campaign().events
    items = positioned([*campaign[:3], *history(), *campaign[3:]], start=500)

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        assert await sink.apply(items) == items[-1].position
        assert stored_position(database_url, sink.name) == items[-1].position
        assert len((await sink.list_conversations(PROJECT)).items) == 2
        campaign_only = positioned(completed_campaign("b").events, start=items[-1].position + 1)
        assert await sink.apply(campaign_only) == campaign_only[-1].position

    with_pool(database_url, scenario)


def test_a_call_without_a_known_counterpart_is_kept_but_in_no_conversation(
    database_url: str,
) -> None:
    events = call_events("CA9", ["ringing"], direction=None, from_number=None, to_number=None)

    async def scenario(pool: Any) -> None:
        sink = PostgresConversationsView(pool)
        await sink.apply(positioned(events))
        assert (await sink.list_conversations(PROJECT)).items == []
        rows = snapshot(database_url, *TABLES)
        assert len(rows["conversation_items"]) == 1
        assert rows["contacts"] == rows["conversations"] == []

    with_pool(database_url, scenario)
