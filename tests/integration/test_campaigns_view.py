"""PostgresCampaignsView on real PostgreSQL: rows, counters recounted from rows, the position."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from views import snapshot, stored_position, with_pool

from adapters.postgres.campaigns_view import PostgresCampaignsView
from domain.campaign import Campaign
from domain.campaign_rules import AttemptResult
from domain_events import (
    ANNA,
    BORIS,
    CLARA,
    OTHER_PROJECT,
    PROJECT,
    T0,
    CampaignScript,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
    positioned,
)
from projections.campaigns_view import COUNTERS, CampaignRow

TABLES = ("campaigns", "campaign_contacts", "campaign_results")


def running_campaign() -> CampaignScript:
    """Clara missed once and has a second attempt ringing; Anna was never dialled."""
    script = CampaignScript("summer")
    script.add(ANNA, CLARA)
    script.start()
    script.attempt(CLARA, 1, T0, AttemptResult.NO_ANSWER, call_sid="CA-c1", statuses=["ringing"])
    script.attempt(CLARA, 2, T0 + timedelta(hours=2), call_sid="CA-c2", statuses=["ringing"])
    return script


def expected_counters(campaign: Campaign) -> dict[str, int]:
    """What the aggregate itself says, for the counters it keeps."""
    book = campaign.book
    return {
        "contacts": len(book.contacts),
        "attempts": len(book.attempts),
        "in_flight": len(book.active),
        "succeeded": len(book.succeeded),
    }


def counters(row: CampaignRow) -> dict[str, int]:
    return {name: getattr(row, name) for name in COUNTERS}


def fresh_recount(database_url: str, campaign_id: str) -> dict[str, int]:
    """The counters recomputed from scratch by an independent query."""
    with psycopg.connect(database_url) as conn:
        contacts, succeeded, exhausted = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE succeeded), count(*) FILTER (WHERE"
            " exhausted) FROM campaign_contacts WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchone() or (0, 0, 0)
        results = dict(
            conn.execute(
                "SELECT result, count(*) FROM campaign_results WHERE campaign_id = %s"
                " AND result IS NOT NULL GROUP BY result",
                (campaign_id,),
            ).fetchall()
        )
        attempts, in_flight = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('init', 'ringing',"
            " 'in-progress')) FROM campaign_results WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchone() or (0, 0)
    return {
        "contacts": contacts,
        "attempts": attempts,
        "in_flight": in_flight,
        "succeeded": succeeded,
        "exhausted": exhausted,
        **{f"result_{r.value.replace('-', '_')}": results.get(r.value, 0) for r in AttemptResult},
    }


def test_campaign_rows_and_stats_agree_with_the_aggregate(database_url: str) -> None:
    done, running = completed_campaign(), running_campaign()
    items = positioned(done.events + running.events)

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        assert await sink.apply(items) == len(items)

        stats = await sink.campaign_stats(PROJECT, str(done.id))
        assert stats is not None
        row = stats.campaign
        assert done.campaign is not None
        assert (row.state, row.campaign_key, row.limits["timezone"]) == (
            "completed",
            "spring",
            "Europe/Berlin",
        )
        assert counters(row) == {
            **expected_counters(done.campaign),
            "exhausted": 1,
            "result_no_answer": 1,
            "result_busy": 1,
            "result_success": 1,
            "result_callback_needed": 0,
        }
        assert stats.attempts_by_status == {"completed": 1, "failed": 2}
        completed = done.events[-1]
        assert (completed.contacts_succeeded, completed.contacts_exhausted) == (1, 1)

        live = await sink.campaign_stats(PROJECT, str(running.id))
        assert live is not None
        assert running.campaign is not None
        expected = expected_counters(running.campaign)
        assert {k: v for k, v in counters(live.campaign).items() if k in expected} == expected
        assert (live.campaign.in_flight, live.campaign.exhausted) == (1, 0)
        assert live.attempts_by_status == {"failed": 1, "ringing": 1}

    with_pool(database_url, scenario)


def test_counters_equal_a_fresh_recount_after_every_event(database_url: str) -> None:
    script = completed_campaign()
    items = positioned(script.events)

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        aggregate = None
        for item in items:
            await sink.apply([item])
            aggregate = item.event.mutate(aggregate)
            stats = await sink.campaign_stats(PROJECT, str(script.id))
            assert stats is not None
            now = counters(stats.campaign)
            assert now == fresh_recount(database_url, str(script.id)), item
            assert {k: now[k] for k in expected_counters(aggregate)} == expected_counters(aggregate)
        assert await sink.recount() == 0

    with_pool(database_url, scenario)


def test_a_recount_repairs_counters_that_were_tampered_with(database_url: str) -> None:
    script = completed_campaign()

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        await sink.apply(positioned(script.events))
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE campaigns SET attempts = 99, in_flight = 7")
        assert await sink.recount(OTHER_PROJECT) == 0
        assert await sink.recount(PROJECT) == 1
        stats = await sink.campaign_stats(PROJECT, str(script.id))
        assert stats is not None
        assert (stats.campaign.attempts, stats.campaign.in_flight) == (3, 0)

    with_pool(database_url, scenario)


def test_applying_the_same_items_twice_changes_nothing(database_url: str) -> None:
    items = positioned(completed_campaign().events)

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        await sink.apply(items[:6])
        await sink.apply(items)
        before = snapshot(database_url, *TABLES)
        assert await sink.apply(items) == len(items)
        assert await sink.apply(items[3:9]) == len(items)
        assert snapshot(database_url, *TABLES) == before

    with_pool(database_url, scenario)


def test_a_batch_of_calls_messages_and_campaigns_advances_past_all_of_them(
    database_url: str,
) -> None:
    _, sms = message_events("SM1", [("sent", {})], **outbound_sms())
    script = completed_campaign()
    mixed = [*script.events[:5], *call_events("CA1", ["ringing"]), *script.events[5:], *sms]
    items = positioned(mixed, start=40)

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        assert await sink.apply(items) == items[-1].position
        assert stored_position(database_url, sink.name) == items[-1].position
        stats = await sink.campaign_stats(PROJECT, str(script.id))
        assert stats is not None
        assert stats.campaign.state == "completed"

    with_pool(database_url, scenario)


def test_listings_are_newest_first_filtered_and_scoped_to_the_project(database_url: str) -> None:
    first, second = completed_campaign("a"), running_campaign()
    foreign = CampaignScript("theirs", project=OTHER_PROJECT)
    items = positioned(first.events + second.events + foreign.events)

    async def scenario(pool: Any) -> None:
        sink = PostgresCampaignsView(pool)
        await sink.apply(items)
        page = await sink.list_campaigns(PROJECT, limit=1)
        assert [c.campaign_key for c in page.items] == ["summer"]
        assert page.next_cursor is not None
        rest = await sink.list_campaigns(PROJECT, limit=1, cursor=page.next_cursor)
        assert ([c.campaign_key for c in rest.items], rest.next_cursor) == (["a"], None)
        failed = await sink.list_attempts(PROJECT, str(first.id), status="failed")
        assert [(a.contact_id, a.attempt_number) for a in failed.items] == [(BORIS, 2), (BORIS, 1)]
        every = await sink.list_attempts(PROJECT, str(first.id), limit=2)
        more = await sink.list_attempts(PROJECT, str(first.id), cursor=every.next_cursor)
        assert len(every.items) + len(more.items) == 3
        assert {a.contact_id for a in every.items + more.items} == {ANNA, BORIS}
        assert await sink.campaign_stats(OTHER_PROJECT, str(first.id)) is None
        assert await sink.campaign_stats(PROJECT, "not-a-uuid") is None
        assert (await sink.list_attempts(OTHER_PROJECT, str(first.id))).items == []
        theirs = await sink.list_campaigns(OTHER_PROJECT)
        assert [c.campaign_key for c in theirs.items] == ["theirs"]
        assert CLARA not in {a.contact_id for a in every.items + more.items}

    with_pool(database_url, scenario)
