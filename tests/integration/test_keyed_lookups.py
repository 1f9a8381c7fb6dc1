"""A batch's rows are found by index, not by scanning the table (adapters/postgres/keyed.py).

For tables of some thousands of rows, the planner's generic plan for
`(a, b) IN (SELECT * FROM unnest(...))`, and for the inbox update joined to its JSON
rows, hashed the keys and read every row, once a batch: the realtime benchmark's
PostgreSQL spent most of its time there (ADR 0017). These tests plan the statements as a
prepared statement would (EXPLAIN GENERIC_PLAN, no values known) against tables of a size
at which the old statements' plans scanned them (3,000 rows, on PostgreSQL 18), and run
them for their answer.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import psycopg
import pytest

from adapters.postgres.campaigns_view import _RECOUNT_TOUCHED as _RECOUNT_CAMPAIGNS
from adapters.postgres.conversations_view import _RECOUNT_TOUCHED as _RECOUNT_CONVERSATIONS
from adapters.postgres.inbox_worker import _MARK_PROCESSED, _RECORD_FAILURES
from adapters.postgres.keyed import by_keys

ROWS = 3_000


def scans(conn: psycopg.Connection[Any], sql: str) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in the statement's generic plan."""
    numbered = iter(range(1, 100))
    text = re.sub(r"%s", lambda _: f"${next(numbered)}", sql)
    row = conn.execute(f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {text}").fetchone()
    assert row is not None
    found: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node and node["Node Type"].endswith("Scan"):
            found.append((node["Node Type"], node["Relation Name"]))
        for child in node.get("Plans", []):
            walk(child)

    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    walk(plan[0]["Plan"])
    return found


def test_rows_are_read_by_key_through_the_index_and_only_the_keys_given(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE keyed (p uuid, s text, v int, PRIMARY KEY (p, s))")
        project = uuid.uuid4()
        conn.execute(
            "INSERT INTO keyed SELECT %s, 'K' || n, n FROM generate_series(1, %s) AS n",
            (project, ROWS),
        )
        conn.execute("ANALYZE keyed")
        sql = by_keys("keyed", ["s", "v"], [("p", "uuid"), ("s", "text")])

        assert [kind for kind, table in scans(conn, sql) if table == "keyed"] in (
            ["Index Scan"],
            ["Index Only Scan"],
        )
        wanted = ["K7", "K2999", "absent", "K12"]
        rows = conn.execute(sql, ([project] * 4, wanted)).fetchall()
        assert sorted(rows) == [("K12", 12), ("K2999", 2999), ("K7", 7)]
        other_project = conn.execute(sql, ([uuid.uuid4()], ["K7"])).fetchall()
        assert other_project == []


def test_the_inbox_worker_marks_its_rows_through_the_primary_key(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # A copy of the inbox without its foreign key, filled to a realistic size.
        conn.execute("CREATE TEMP TABLE webhook_inbox (LIKE public.webhook_inbox INCLUDING ALL)")
        conn.execute(
            "INSERT INTO webhook_inbox (project_id, source, event_type, dedupe_key, payload,"
            " trace_id, processing_status)"
            " SELECT %s, 'twilio', 'voice-status', 'd' || n, '{}', '', 'processed'"
            " FROM generate_series(1, %s) AS n",
            (uuid.uuid4(), ROWS),
        )
        conn.execute("ANALYZE webhook_inbox")
        for sql in (_MARK_PROCESSED, _RECORD_FAILURES):
            inbox_scans = [kind for kind, table in scans(conn, sql) if table == "webhook_inbox"]
            assert inbox_scans in (["Index Scan"], ["Bitmap Heap Scan"]), inbox_scans


@pytest.mark.parametrize(
    ("table", "fill", "recount"),
    [
        (
            "conversations",
            "SELECT %s, gen_random_uuid(), gen_random_uuid(), 'a' || n, now(), now(), n",
            _RECOUNT_CONVERSATIONS,
        ),
        (
            "campaigns",
            "SELECT %s, gen_random_uuid(), 'k' || n, 'c', 'running', '{}', now(), now(), 1, n",
            _RECOUNT_CAMPAIGNS,
        ),
    ],
)
def test_a_views_recount_of_the_touched_rows_finds_them_through_the_primary_key(
    database_url: str, table: str, fill: str, recount: str
) -> None:
    columns = {
        "conversations": "project_id, conversation_id, contact_id, address, created_at,"
        " updated_at, last_position",
        "campaigns": "project_id, campaign_id, campaign_key, name, state, limits, created_at,"
        " updated_at, version, last_position",
    }[table]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {table} ({columns}) {fill} FROM generate_series(1, %s) AS n",
            (uuid.uuid4(), ROWS),
        )
        conn.execute(f"ANALYZE {table}")
        assert [kind for kind, t in scans(conn, recount) if t == table] == ["Index Scan"] * 2
