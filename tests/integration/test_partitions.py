"""call_events is partitioned by month: future months exist ahead of time, old ones expire."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from adapters.postgres.partitions import maintain_partitions, month_start
from support import all_at_once

INSERT = (
    "INSERT INTO call_events (position, project_id, call_sid, aggregate_version, event_type,"
    " event_time, recorded_at, operation_id, trace_id, payload, snapshot)"
    " VALUES (%s, gen_random_uuid(), 'CA1', 1, 'call.created', %s, %s, 'op', 't', '{}', '{}')"
    " RETURNING tableoid::regclass::text"
)


def partitions(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'call_events'"
        ).fetchall()
    return {r[0] for r in rows}


def test_the_next_months_partitions_exist_after_start_up(database_url: str) -> None:
    today = datetime.now(UTC).date()
    expected = {f"call_events_{month_start(today, k):%Y_%m}" for k in range(4)}

    assert expected <= partitions(database_url)
    assert "call_events_default" in partitions(database_url)


def test_an_event_of_a_new_month_lands_in_that_months_partition(database_url: str) -> None:
    month = month_start(datetime.now(UTC).date(), 2)
    when = datetime(month.year, month.month, 15, 12, tzinfo=UTC)

    with psycopg.connect(database_url) as conn:
        row = conn.execute(INSERT, (1, when, when)).fetchone()

    assert row is not None
    assert row[0] == f"call_events_{month:%Y_%m}"


def test_retention_drops_whole_old_months_and_old_strays(database_url: str) -> None:
    today = date(2027, 6, 10)
    maintain_partitions(database_url, today=date(2026, 1, 1), months_ahead=20)
    old = datetime(2026, 2, 3, tzinfo=UTC)
    ancient = datetime(2020, 1, 1, tzinfo=UTC)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(INSERT, (1, old, old)).fetchone() == ("call_events_2026_02",)
        assert conn.execute(INSERT, (2, ancient, ancient)).fetchone() == ("call_events_default",)

    result = maintain_partitions(database_url, today=today, retention_months=12)

    assert "call_events_2026_02" in result.dropped
    assert "call_events_2026_06" in partitions(database_url)  # within 12 months: kept
    assert "call_events_2027_09" in partitions(database_url)  # ahead: created
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM call_events").fetchone()
    assert row == (0,)
    assert maintain_partitions(database_url, today=today, retention_months=12).created == []


def test_processes_starting_together_all_get_their_partitions_without_an_error(
    database_url: str,
) -> None:
    """`up` starts several processes that each maintain partitions at once; none may crash
    because another created the same month a moment earlier."""
    someday = date(2041, 5, 1)  # months nobody has made yet
    errors = all_at_once(lambda: maintain_partitions(database_url, today=someday), 8)

    assert errors == []
    assert {f"call_events_{month_start(someday, k):%Y_%m}" for k in range(4)} <= partitions(
        database_url
    )
