"""The append-heavy message and campaign tables are partitioned by month (migration 0011):
future months exist, new months take rows through the real projections, upserts stay in
their partition, retention spares what counters are recounted from, and rebuilds still swap."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from views import with_pool

from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.migrations import SCHEMAS_DIR, apply_migrations
from adapters.postgres.partitions import PARTITIONED, maintain_partitions, month_start
from adapters.postgres.rebuild import rebuild
from domain_events import PROJECT, completed_campaign, message_events, outbound_sms, positioned
from entrypoints.cli.projections import READ_MODELS

VIEW_TABLES = ("message_deliveries", "campaign_results")


def partitions(database_url: str, table: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            (table,),
        ).fetchall()
    return {r[0] for r in rows}


def where_rows_are(database_url: str, table: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def recorded_in(events: list[Any], month: date) -> list[Any]:
    """The same events, as if the store had recorded them in `month`."""
    start = datetime(month.year, month.month, 15, tzinfo=UTC)
    return [
        dataclasses.replace(e, timestamp=start + timedelta(seconds=i)) for i, e in enumerate(events)
    ]


@pytest.mark.parametrize("table", sorted(PARTITIONED))
def test_every_partitioned_table_has_the_next_months_after_start_up(
    database_url: str, table: str
) -> None:
    today = datetime.now(UTC).date()
    expected = {f"{table}_{month_start(today, k):%Y_%m}" for k in range(4)} | {f"{table}_default"}

    assert expected <= partitions(database_url, table)


def test_deliveries_and_attempts_of_a_new_month_land_in_its_partition_and_stay_there(
    database_url: str,
) -> None:
    month = month_start(datetime.now(UTC).date(), 2)
    sent = datetime(month.year, month.month, 15, tzinfo=UTC)
    message, sms = message_events(
        "SM1", [("sent", {"provider_event_time": sent}), ("delivered", {})], **outbound_sms()
    )
    campaign = completed_campaign().events
    # A late repeat of "sent" with an earlier provider time, recorded a month later: it
    # refines the existing row, in its partition.
    earlier = sent - timedelta(minutes=1)
    _, late = message_events("SM1", [("sent", {"provider_event_time": earlier})], message=message)
    late = recorded_in(late, month_start(month, 1))

    async def scenario(pool: Any) -> None:
        messages, campaigns = PostgresMessagesView(pool), PostgresCampaignsView(pool)
        await messages.apply(positioned(recorded_in(sms, month)))
        await campaigns.apply(positioned(recorded_in(campaign, month)))
        before = where_rows_are(database_url, "message_deliveries")
        await messages.apply(positioned(late, start=len(sms) + 1))
        assert where_rows_are(database_url, "message_deliveries") == before
        (sent_row,) = [d for d in await messages.deliveries(PROJECT, "SM1") if d.status == "sent"]
        assert sent_row.reached_at == earlier

    with_pool(database_url, scenario)

    assert where_rows_are(database_url, "message_deliveries") == {
        f"message_deliveries_{month:%Y_%m}": 2
    }
    assert where_rows_are(database_url, "campaign_results") == {
        f"campaign_results_{month:%Y_%m}": 3
    }


def test_retention_drops_old_delivery_months_but_keeps_attempts(database_url: str) -> None:
    maintain_partitions(database_url, today=date(2026, 1, 1), months_ahead=20)
    old = month_start(date(2026, 2, 1))
    _, sms = message_events("SM1", [("sent", {})], **outbound_sms())

    async def scenario(pool: Any) -> None:
        await PostgresMessagesView(pool).apply(positioned(recorded_in(sms, old)))
        await PostgresCampaignsView(pool).apply(
            positioned(recorded_in(completed_campaign().events, old))
        )

    with_pool(database_url, scenario)
    result = maintain_partitions(database_url, today=date(2027, 6, 10), retention_months=12)

    assert "message_deliveries_2026_02" in result.dropped
    assert "campaign_results_2026_02" not in result.dropped  # counters are recounted from it
    assert where_rows_are(database_url, "message_deliveries") == {}
    assert where_rows_are(database_url, "campaign_results") == {"campaign_results_2026_02": 3}


@pytest.fixture
def fresh_database(pg_server: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield make_conninfo(**{**conninfo_to_dict(pg_server), "dbname": name})
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migration_0011_keeps_existing_rows_in_month_partitions(
    fresh_database: str, tmp_path: Path
) -> None:
    for path in sorted((SCHEMAS_DIR / "postgres").glob("*.sql")):
        if path.name < "0011":
            shutil.copy(path, tmp_path)
    apply_migrations(fresh_database, tmp_path)
    january, march = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC)
    with psycopg.connect(fresh_database) as conn:
        for sid, at in (("SM1", january), ("SM2", march)):
            conn.execute(
                "INSERT INTO message_deliveries (project_id, message_sid, status, reached_at,"
                " recorded_at, last_position) VALUES (%s, %s, 'sent', %s, %s, 1)",
                (PROJECT, sid, at, at),
            )
        conn.execute(
            "INSERT INTO campaign_results (project_id, campaign_id, attempt_id, contact_id,"
            " attempt_number, status, scheduled_at, created_at, updated_at, last_position)"
            " VALUES (%s, gen_random_uuid(), 'a1', 'c1', 1, 'scheduled', %s, %s, %s, 1)",
            (PROJECT, march, march, march),
        )

    assert "0011_partition_deliveries_and_attempts.sql" in apply_migrations(fresh_database)

    assert where_rows_are(fresh_database, "message_deliveries") == {
        "message_deliveries_2026_01": 1,
        "message_deliveries_2026_03": 1,
    }
    assert where_rows_are(fresh_database, "campaign_results") == {"campaign_results_2026_03": 1}


@pytest.mark.parametrize("name", ["messages_view", "campaigns_view"])
def test_a_rebuild_swaps_in_partitioned_copies_that_keep_taking_new_months(
    database_url: str, name: str
) -> None:
    store = PostgresEventStore(database_url)
    try:
        _, sms = message_events("SM1", [("sent", {}), ("delivered", {})], **outbound_sms())
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), [*completed_campaign().events, *sms])
        tables, make = READ_MODELS[name]
        before = {t: partitions(database_url, t) for t in tables}
        position = asyncio.run(
            rebuild(database_url, store, name=name, tables=tables, make_sink=make)
        )
        assert position == store.head()
    finally:
        store.close()

    assert {t: partitions(database_url, t) for t in tables} == before
    table = next(t for t in tables if t in PARTITIONED)
    assert sum(where_rows_are(database_url, table).values()) == (
        2 if name == "messages_view" else 3
    )
    created = maintain_partitions(database_url, months_ahead=6).created
    assert f"{table}_{month_start(datetime.now(UTC).date(), 6):%Y_%m}" in created
