"""ClickHouseFacts on real chDB: typed facts for every aggregate, exact under redelivery."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import ClickHouseFacts, raw_rows, truncate_facts
from domain.call import Call, call_id
from domain.campaign import Campaign, campaign_id
from domain.message import Message, message_id
from projections.calls_view import EVENT_TYPES
from projections.positioned import PositionedEvent

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID, MSG, KEY = "CA" + "f" * 32, "SM" + "f" * 32, "spring-promo"
CAMPAIGN = campaign_id(PROJECT, KEY)
T0 = datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)
ENDED = T0 + timedelta(seconds=50)
TOPIC = "test:Event"


@pytest.fixture
def ch(clickhouse: ClickHouse) -> ClickHouse:
    """The session's chDB with every fact table empty (positions restart in each test)."""
    truncate_facts(clickhouse)
    return clickhouse


def campaign_events() -> list[Any]:
    on = {"originator_id": CAMPAIGN, "project_id": PROJECT, "trace_id": "t" * 32}
    limits = {
        "max_attempts_per_contact": 2,
        "retry_interval_seconds": 3600,
        "window_start": "09:00:00",
        "window_end": "18:00:00",
        "timezone": "Europe/Berlin",
        "max_concurrent_calls": 2,
    }
    return [
        Campaign.Created(
            **on,
            originator_version=1,
            timestamp=T0,
            originator_topic=TOPIC,
            operation_id="api:1",
            campaign_key=KEY,
            name="Spring",
            limits=limits,
        ),
        Campaign.AttemptFinished(
            **on,
            originator_version=2,
            timestamp=ENDED,
            operation_id="api:2",
            attempt_id="att-1",
            result="success",
            status="completed",
            finished_at=ENDED,
            callback_at=None,
        ),
    ]


def call_events() -> list[Any]:
    """A campaign call's whole life, one event of every Call class."""
    versions = iter(range(1, 100))

    def on(cls: type[Any], at: datetime = T0, **fields: Any) -> Any:
        return cls(
            originator_id=call_id(PROJECT, SID),
            originator_version=next(versions),
            timestamp=at,
            project_id=PROJECT,
            call_sid=SID,
            operation_id=f"webhook:{cls.__name__}",
            trace_id="c" * 32,
            **fields,
        )

    def status(value: str, seq: int, at: datetime) -> Any:
        return on(
            Call.StatusObserved,
            at,
            status=value,
            provider_event_time=at,
            sequence_number=seq,
            source="webhook",
        )

    return [
        on(
            Call.Created,
            originator_topic=TOPIC,
            direction="outbound-api",
            from_number="+14155550100",
            to_number="+16505550199",
            parent_call_sid=None,
            campaign_id=str(CAMPAIGN),
            attempt_id="att-1",
        ),
        status("ringing", 1, T0),
        status("in-progress", 2, T0 + timedelta(seconds=8)),
        on(Call.Answered, answered_at=T0 + timedelta(seconds=8), answered_by="human"),
        status("completed", 3, ENDED),
        on(
            Call.Ended,
            ENDED,
            status="completed",
            ended_at=ENDED,
            duration_seconds=42,
            sip_response_code=200,
        ),
        on(
            Call.ObservationIgnored,
            ENDED,
            kind="status",
            status="ringing",
            provider_event_time=T0,
            sequence_number=1,
            source="webhook",
            reason="after_final",
        ),
        on(
            Call.RecordingUpdated,
            ENDED,
            recording_sid="RE1",
            status="completed",
            url=None,
            duration_seconds=40,
            channels=2,
            provider_event_time=ENDED,
        ),
        on(
            Call.Enriched,
            ENDED,
            source="reconcile",
            price="-0.00750",
            price_unit="USD",
            billed_duration_seconds=60,
            queue_time_ms=None,
            duration_seconds=None,
            sip_response_code=None,
            answered_by=None,
        ),
        on(Call.Frozen, ENDED + timedelta(hours=1), frozen_at=ENDED + timedelta(hours=1)),
    ]


def message_events() -> list[Any]:
    on = {
        "originator_id": message_id(PROJECT, MSG),
        "project_id": PROJECT,
        "message_sid": MSG,
        "trace_id": "m" * 32,
    }
    return [
        Message.Created(
            **on,
            originator_version=1,
            timestamp=T0,
            originator_topic=TOPIC,
            operation_id="webhook:m1",
            channel="sms",
            direction="outbound-api",
            from_address="+14155550100",
            to_address="+16505550199",
            messaging_service_sid=None,
            template_id=None,
            contact_id="lead-anna",
            campaign_id=str(CAMPAIGN),
            body_chars=120,
            segments=1,
        ),
        Message.StatusObserved(
            **on,
            originator_version=2,
            timestamp=T0,
            operation_id="webhook:m2",
            status="undelivered",
            provider_event_time=T0,
            source="webhook",
            error_code=30003,
            error_message="Unreachable destination handset",
        ),
    ]


def story(first: int = 1) -> list[PositionedEvent]:
    campaign, call, message = campaign_events(), call_events(), message_events()
    events = [campaign[0], message[0], *call[:5], message[1], *call[5:], campaign[1]]
    return [PositionedEvent(p, e) for p, e in enumerate(events, start=first)]


def q(ch: ClickHouse, sql: str) -> list[tuple[Any, ...]]:
    return ch.query(sql)


def counts(ch: ClickHouse) -> dict[str, Any]:
    return {
        "events": q(ch, "SELECT count(), uniqExact(position) FROM events FINAL"),
        "call_events": q(ch, "SELECT count() FROM call_events FINAL"),
        "calls": q(ch, "SELECT count(), max(version) FROM calls FINAL"),
        "outcomes": q(
            ch,
            "SELECT campaign_id, minute, status, uniqExactMerge(calls)"
            " FROM call_outcomes_per_minute GROUP BY ALL",
        ),
        "per_project": q(
            ch,
            "SELECT project_id, uniqExactMerge(calls) FROM call_outcomes_per_minute GROUP BY ALL",
        ),
        "results": q(
            ch,
            "SELECT campaign_id, result, uniqExactMerge(attempts)"
            " FROM campaign_results_per_minute GROUP BY ALL",
        ),
    }


def test_one_batch_of_call_message_and_campaign_events_lands_as_typed_rows(
    ch: ClickHouse,
) -> None:
    items = story()
    assert asyncio.run(ClickHouseFacts(ch).apply(items)) == len(items)

    rows = q(
        ch,
        "SELECT aggregate, event_type, status, campaign_id, error_code, price, duration_seconds,"
        " ended_at, payload FROM events FINAL ORDER BY position",
    )
    by_type = {r[1]: r for r in rows}
    assert len(rows) == len(items)
    assert {r[0] for r in rows} == {"call", "message", "campaign"}
    assert by_type["call.ended"][2:5] == ("completed", str(CAMPAIGN), None)
    assert by_type["call.ended"][6:8] == (42, ENDED.replace(tzinfo=None))
    assert by_type["call.enriched"][5] == Decimal("-0.0075")
    assert by_type["message.status_observed"][2:5] == ("undelivered", None, 30003)
    assert by_type["campaign.attempt_finished"][2:4] == ("completed", str(CAMPAIGN))
    assert '"timezone":"Europe/Berlin"' in by_type["campaign.created"][8]

    feed = q(ch, "SELECT event_type, status, call_sid FROM call_events FINAL ORDER BY position")
    expected = [
        (EVENT_TYPES[type(i.event)], i.event) for i in items if isinstance(i.event, Call.Event)
    ]
    assert [r[0] for r in feed] == [name for name, _ in expected]
    assert [r[1] for r in feed] == [getattr(e, "status", None) or "" for _, e in expected]
    assert {r[2] for r in feed} == {SID}


def test_replaying_a_batch_with_the_same_or_another_token_changes_no_count(
    ch: ClickHouse,
) -> None:
    items = story()
    asyncio.run(ClickHouseFacts(ch).apply(items))
    once = counts(ch)
    assert once["events"] == [(len(items), len(items))]
    assert once["outcomes"] == [
        (str(CAMPAIGN), ENDED.replace(second=0, tzinfo=None), "completed", 1)
    ]
    assert once["per_project"] == [(UUID(PROJECT), 1)]
    assert once["results"] == [(str(CAMPAIGN), "success", 1)]
    raw_sql = "SELECT (SELECT count() FROM events), (SELECT count() FROM call_outcomes_per_minute)"
    raw = q(ch, raw_sql)

    asyncio.run(ClickHouseFacts(ch).apply(items))  # a retry: same token, a cold sink
    assert counts(ch) == once
    assert q(ch, raw_sql) == raw, "the same token drops the block, and the views' blocks too"

    rows, columns = raw_rows(items)
    ch.insert("events", rows, columns, "another-token")  # a redelivery past the window
    ch.insert("events", rows, columns, "")  # and one with no token at all
    sink = ClickHouseFacts(ch)
    asyncio.run(sink.apply(items[:6]))  # the same events, cut into other batches
    asyncio.run(sink.apply(items[6:]))
    assert counts(ch) == once


def test_calls_final_holds_the_latest_state_when_a_batch_starts_mid_call(ch: ClickHouse) -> None:
    items = story()
    first, second = ClickHouseFacts(ch), ClickHouseFacts(ch)
    asyncio.run(first.apply(items[:5]))
    asyncio.run(second.apply(items[5:9]))  # a cold sink reads the call back from `calls`
    asyncio.run(first.apply(items[9:]))  # a stale cache (an older leader's) is not trusted

    calls = q(
        ch,
        "SELECT status, is_final, campaign_id, attempt_id, answered_at, ended_at,"
        " duration_seconds, sip_response_code, price, recording_status, sync_state, version,"
        " last_position FROM calls FINAL",
    )
    assert calls == [
        (
            "completed",
            True,
            str(CAMPAIGN),
            "att-1",
            (T0 + timedelta(seconds=8)).replace(tzinfo=None),
            ENDED.replace(tzinfo=None),
            42,
            200,
            Decimal("-0.0075"),
            "completed",
            "frozen",
            10,
            len(items) - 1,
        )
    ]
    later = q(ch, "SELECT DISTINCT campaign_id FROM events FINAL WHERE aggregate != 'message'")
    assert later == [(str(CAMPAIGN),)], "a call's events name its campaign after a read-back"
    argmax = ch.query(
        "SELECT argMax(status, version) FROM calls WHERE call_sid = {s:String}", {"s": SID}
    )
    assert argmax == [("completed",)]


def test_position_resumes_from_the_highest_position_written_across_months(
    ch: ClickHouse,
) -> None:
    assert asyncio.run(ClickHouseFacts(ch).position()) == 0
    items = story(first=100)
    january = replace(campaign_events()[1], timestamp=T0 - timedelta(days=20))
    batch = [PositionedEvent(99, january), *items]
    assert asyncio.run(ClickHouseFacts(ch).apply(batch)) == batch[-1].position
    assert asyncio.run(ClickHouseFacts(ch).position()) == batch[-1].position
    months = q(
        ch, "SELECT toYYYYMM(recorded_at) AS m, count() FROM events FINAL GROUP BY m ORDER BY m"
    )
    assert months == [(202601, 1), (202602, len(items))]
