"""PostgresMessagesView on real PostgreSQL: rows, deliveries and errors, with the position."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from views import snapshot, stored_position, with_pool

from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.paging import InvalidCursor
from domain_events import (
    OTHER_PROJECT,
    PROJECT,
    T0,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
    positioned,
)
from projections.messages_view import MessagesViewProjection, MessageView
from projections.positioned import PositionedEvent, Unread

TABLES = ("messages", "message_deliveries", "message_errors")


def delivered(sid: str = "SM1", **first: Any) -> list[Any]:
    _, events = message_events(
        sid,
        [
            ("queued", {}),
            ("sent", {"provider_event_time": T0}),
            ("delivered", {"provider_event_time": T0 + timedelta(seconds=4)}),
        ],
        **(first or outbound_sms()),
    )
    return events


def failed(sid: str = "SM2") -> list[Any]:
    _, events = message_events(
        sid,
        [
            ("sent", {"provider_event_time": T0}),
            ("undelivered", {"error_code": 30003, "error_message": "Unreachable handset"}),
            ("undelivered", {"error_code": 30003}),
        ],
        **outbound_sms("+14155550000"),
    )
    return events


def fold(items: list[PositionedEvent]) -> MessageView:
    view = None
    for item in items:
        view = MessagesViewProjection.apply(view, item)
    assert view is not None
    return view


def test_messages_their_deliveries_and_errors_are_written_with_the_position(
    database_url: str,
) -> None:
    items = positioned(delivered() + failed())

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        assert await sink.apply(items) == len(items)
        assert await sink.position() == len(items)

        ok = await sink.get_message(PROJECT, "SM1")
        assert ok is not None
        assert (ok.status, ok.is_final, ok.channel) == ("delivered", True, "sms")
        assert (ok.sent_at, ok.delivered_at) == (T0, T0 + timedelta(seconds=4))
        assert ok.finalized_at == T0 + timedelta(seconds=4)
        assert [d.status for d in await sink.deliveries(PROJECT, "SM1")] == [
            "queued",
            "sent",
            "delivered",
        ]
        bad = await sink.get_message(PROJECT, "SM2")
        assert bad is not None
        assert (bad.status, bad.error_code, bad.error_message) == (
            "undelivered",
            30003,
            "Unreachable handset",
        )
        errors = await sink.errors(PROJECT, "SM2")
        assert [(e.error_code, e.status) for e in errors] == [(30003, "undelivered")]
        assert await sink.get_message(OTHER_PROJECT, "SM1") is None

    with_pool(database_url, scenario)


def test_applying_the_same_items_twice_changes_nothing(database_url: str) -> None:
    items = positioned(delivered() + failed())

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        await sink.apply(items)
        before = snapshot(database_url, *TABLES)
        assert await sink.apply(items) == len(items)
        assert await sink.apply(items[2:5]) == len(items)
        assert snapshot(database_url, *TABLES) == before

    with_pool(database_url, scenario)


def test_a_batch_of_calls_messages_and_campaigns_advances_past_all_of_them(
    database_url: str,
) -> None:
    mixed = call_events("CA1", ["ringing"]) + delivered() + completed_campaign().events
    items = positioned(mixed, start=10)

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        assert await sink.apply(items) == items[-1].position
        assert stored_position(database_url, sink.name) == items[-1].position
        assert [r[1] for r in snapshot(database_url, "messages")["messages"]] == ["SM1"]
        only_others = positioned(call_events("CA2", ["ringing"]), start=items[-1].position + 1)
        assert await sink.apply(only_others) == only_others[-1].position
        last = only_others[-1].position + 1
        assert await sink.apply([PositionedEvent(last, Unread("domain.call:Call.Created"))]) == last
        replayed = positioned(call_events("CA3", ["ringing"]), start=1)
        assert await sink.apply(replayed) == last  # an old batch never moves it back
        assert stored_position(database_url, sink.name) == last
        assert [r[1] for r in snapshot(database_url, "messages")["messages"]] == ["SM1"]

    with_pool(database_url, scenario)


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_rows_equal_the_pure_fold_whatever_the_batch_size(database_url: str, batch: int) -> None:
    items = positioned(delivered() + failed())

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        for start in range(0, len(items), batch):
            await sink.apply(items[start : start + batch])
        for sid in ("SM1", "SM2"):
            expected = fold([i for i in items if i.event.message_sid == sid])
            assert await sink.get_message(PROJECT, sid) == expected.row
            deliveries = {d.status: d for d in await sink.deliveries(PROJECT, sid)}
            assert deliveries == expected.deliveries
            errors = {e.error_code: e for e in await sink.errors(PROJECT, sid)}
            assert errors == expected.errors

    with_pool(database_url, scenario)


def test_list_messages_is_newest_first_filtered_by_status_and_scoped_to_the_project(
    database_url: str,
) -> None:
    events: list[Any] = []
    for n in range(5):
        events += delivered(f"SM{n}") if n % 2 == 0 else failed(f"SM{n}")
    _, foreign = message_events("SMX", [("sent", {})], project=OTHER_PROJECT, **outbound_sms())

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        await sink.apply(positioned(events + foreign))
        seen, cursor = [], None
        while True:
            page = await sink.list_messages(PROJECT, limit=2, cursor=cursor)
            seen += [m.message_sid for m in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ["SM4", "SM3", "SM2", "SM1", "SM0"]
        undelivered = await sink.list_messages(PROJECT, status="undelivered")
        assert [m.message_sid for m in undelivered.items] == ["SM3", "SM1"]
        assert undelivered.next_cursor is None
        other = await sink.list_messages(OTHER_PROJECT)
        assert [m.message_sid for m in other.items] == ["SMX"]
        with pytest.raises(InvalidCursor):
            await sink.list_messages(PROJECT, cursor="not-a-cursor")

    with_pool(database_url, scenario)


def test_a_batch_that_fails_leaves_rows_and_position_as_they_were(database_url: str) -> None:
    events = delivered()
    orphan = positioned(failed()[1:], start=100)  # its Created event never arrives

    async def scenario(pool: Any) -> None:
        sink = PostgresMessagesView(pool)
        await sink.apply(positioned(events))
        before = snapshot(database_url, *TABLES)
        with pytest.raises(LookupError):
            await sink.apply(orphan)
        assert snapshot(database_url, *TABLES) == before
        assert await sink.position() == len(events)

    with_pool(database_url, scenario)
