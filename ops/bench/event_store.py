"""Webhook commands into the event store per second (the inbox worker), next to raw inserts."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
from psycopg.conninfo import make_conninfo

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.migrations import apply_migrations
from adapters.postgres.projects import create_project
from adapters.twilio.callbacks import voice_dedupe_key
from adapters.twilio.simulator import script_call
from entrypoints.workers.inbox import NORMALIZERS
from ops.bench.context import BenchContext
from ops.bench.report import Table

TITLE = "Webhook commands into the event store per second"
TARGET = 5_000  # commands per second (issue 3)
CALLS = 6_000  # simulated calls; about four callbacks each
BATCH = 500
COLUMNS = ["Path", "Commands/s", "Rows/s", "Rows", "Seconds", "Target", "Met"]
_INSERT_INBOX = (
    "INSERT INTO webhook_inbox (project_id, source, event_type, call_sid, dedupe_key, payload,"
    " trace_id) SELECT project_id, 'twilio', 'voice-status', call_sid, dedupe_key, payload,"
    " trace_id FROM jsonb_to_recordset(%s::jsonb) AS r(project_id uuid, call_sid text,"
    " dedupe_key text, payload jsonb, trace_id text)"
)


def fill_inbox(database_url: str, project_id: str, account_sid: str) -> int:
    """Distinct, realistic callbacks, stored as the API would have stored them."""
    rng = random.Random(3)
    rows: list[dict[str, Any]] = []
    for _ in range(CALLS):
        for callback in script_call(rng, account_sid, datetime.now(UTC)).callbacks:
            rows.append(
                {
                    "project_id": project_id,
                    "call_sid": callback.params["CallSid"],
                    "dedupe_key": voice_dedupe_key(callback.params),
                    "payload": callback.params,
                    "trace_id": "0" * 32,
                }
            )
    with psycopg.connect(database_url) as conn:
        for i in range(0, len(rows), 5_000):
            conn.execute(_INSERT_INBOX, (msgspec.json.encode(rows[i : i + 5_000]).decode(),))
    return len(rows)


def drain(database_url: str, store: PostgresEventStore | None = None) -> tuple[int, float]:
    """One worker, batches of BATCH, until the inbox is empty: (commands, seconds). The
    store (closed afterwards) defaults to the product's."""
    store = store or PostgresEventStore(database_url, pool_size=2)
    worker = PostgresInboxWorker(store, NORMALIZERS)
    commands = 0
    started = time.perf_counter()
    try:
        while (report := worker.process_batch(BATCH)).claimed:
            commands += report.claimed
    finally:
        elapsed = time.perf_counter() - started
        store.close()
    return commands, elapsed


def raw_insert(database_url: str) -> tuple[int, float]:
    """The floor: the same event rows, inserted by plain psycopg in batches, no lock, no
    decisions, into a table shaped like the library's."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM eventlog_events"
            " ORDER BY notification_id"
        ).fetchall()
        conn.execute(
            "CREATE TABLE bench_raw_events (originator_id uuid, originator_version integer,"
            " topic text, state bytea, notification_id bigserial,"
            " PRIMARY KEY (originator_id, originator_version))"
        )
        conn.commit()
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bench_raw_events (originator_id, originator_version, topic,"
                    " state) VALUES (%s, %s, %s, %s)",
                    rows[i : i + BATCH],
                )
        return len(rows), time.perf_counter() - started


def count_events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM eventlog_events").fetchone()
    return int(row[0]) if row else 0


def own_database(server_url: str, name: str) -> str:
    """A database of its own on the same server: other benchmarks' rows must not count."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = make_conninfo(server_url, dbname=name)
    apply_migrations(url)
    return url


def run(ctx: BenchContext) -> Table:
    print(f"{TITLE}:", flush=True)
    url = own_database(ctx.database_url, "bench_event_store")
    account_sid = "AC" + uuid.uuid4().hex
    project, _ = create_project(
        url, name="bench-store", twilio_account_sid=account_sid, twilio_auth_token="t"
    )
    stored = fill_inbox(url, project.id, account_sid)
    print(f"  {stored:,} callbacks in the inbox; draining with one worker", flush=True)
    commands, seconds = drain(url)
    events = count_events(url)
    print(f"  raw psycopg insert of the same {events:,} event rows", flush=True)
    raw_rows, raw_seconds = raw_insert(url)
    rate = commands / seconds
    return Table(
        TITLE,
        COLUMNS,
        [
            [
                "Inbox worker: claim, decide, append (1 worker)",
                f"{rate:,.0f}",
                f"{events / seconds:,.0f}",
                f"{events:,}",
                f"{seconds:.2f}",
                f"≥ {TARGET:,} commands/s",
                "yes" if rate >= TARGET else "NO",
            ],
            [
                "Raw psycopg batch insert, same rows",
                "",
                f"{raw_rows / raw_seconds:,.0f}",
                f"{raw_rows:,}",
                f"{raw_seconds:.2f}",
                "floor",
                "",
            ],
        ],
        [
            f"{stored:,} distinct voice callbacks from the simulator's lifecycles ({CALLS:,}"
            f" calls) were stored in the inbox first; one worker then drained it in batches of"
            f" {BATCH}: each batch claims rows (FOR UPDATE SKIP LOCKED), loads the calls, decides,"
            " records operation ids and outcomes, and appends the events through the library's"
            " locked insert, in one transaction.",
            "The floor inserts the very event rows the worker wrote into a table of the same"
            f" shape, {BATCH} per transaction with psycopg's executemany: no lock, no decisions.",
        ],
    )
