"""The inbox worker on real PostgreSQL: exactly once under concurrency, poison rows isolated,
repeated operations reported with their first outcome."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import psycopg
import pytest

from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project
from adapters.twilio.callbacks import voice_status_command
from entrypoints.workers.inbox import NORMALIZERS
from support import voice_entry

LIFECYCLE = ["initiated", "ringing", "in-progress", "completed"]


def fill_inbox(database_url: str, project: Project, calls: int) -> int:
    async def fill() -> int:
        pool = await open_async_pool(database_url)
        inbox = PostgresInbox(pool)
        stored = 0
        for c in range(calls):
            sid = f"CA{c:032x}"
            for seq, status in enumerate(LIFECYCLE):
                stored += await inbox.add(
                    voice_entry(project.id, project.twilio_account_sid, sid, status, seq)
                )
        await pool.close()
        return stored

    return asyncio.run(fill())


def scalar(database_url: str, sql: str) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def store(database_url: str) -> Any:
    s = PostgresEventStore(database_url, pool_size=4)
    yield s
    s.close()


def test_parallel_workers_record_each_callback_exactly_once(
    database_url: str, project: tuple[Project, str], store: PostgresEventStore
) -> None:
    rows = fill_inbox(database_url, project[0], calls=30)
    errors: list[str] = []

    def work() -> None:
        worker = PostgresInboxWorker(store, NORMALIZERS)
        idle = 0
        while idle < 3:
            try:
                report = worker.process_batch(limit=7)
            except Exception as exc:  # a lost optimistic-concurrency race: retry
                errors.append(type(exc).__name__)
                continue
            idle = idle + 1 if report.claimed == 0 else 0

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert (
        scalar(
            database_url, "SELECT count(*) FROM webhook_inbox WHERE processing_status = 'processed'"
        )
        == rows
    )
    # Per call: Created, one observation per callback, Answered and Ended; never more.
    assert scalar(database_url, "SELECT count(*) FROM eventlog_events") == rows + 3 * 30
    assert scalar(database_url, "SELECT count(*) FROM operations") == rows
    assert scalar(database_url, "SELECT count(DISTINCT originator_id) FROM eventlog_events") == 30
    assert set(errors) <= {"IntegrityError"}


def test_repeated_operation_reports_the_first_outcome_and_adds_no_event(
    database_url: str, project: tuple[Project, str], store: PostgresEventStore
) -> None:
    fill_inbox(database_url, project[0], calls=1)
    worker = PostgresInboxWorker(store, NORMALIZERS)
    assert worker.process_batch().outcomes == {"applied": 4}
    events = scalar(database_url, "SELECT count(*) FROM eventlog_events")
    # As if a crash had struck between the commit and the acknowledgement.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE webhook_inbox SET processing_status = 'pending'")
    assert worker.process_batch().outcomes == {"duplicate": 4}
    assert scalar(database_url, "SELECT count(*) FROM eventlog_events") == events


def test_a_poison_row_is_retried_then_dead_lettered_without_blocking_others(
    database_url: str, project: tuple[Project, str], store: PostgresEventStore
) -> None:
    fill_inbox(database_url, project[0], calls=1)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE webhook_inbox SET payload = payload - 'CallStatus'"
            " WHERE payload->>'CallStatus' = 'ringing'"
        )
    worker = PostgresInboxWorker(store, {"voice-status": voice_status_command}, max_attempts=3)
    first = worker.process_batch()
    assert first.outcomes == {"applied": 3, "failed": 1}
    for _ in range(2):
        with psycopg.connect(database_url) as conn:  # skip the backoff wait
            conn.execute("UPDATE webhook_inbox SET next_attempt_at = now()")
        worker.process_batch()
    assert (
        scalar(
            database_url,
            "SELECT processing_status FROM webhook_inbox WHERE NOT payload ? 'CallStatus'",
        )
        == "dead"
    )
    assert (
        scalar(database_url, "SELECT attempts FROM webhook_inbox WHERE NOT payload ? 'CallStatus'")
        == 3
    )
    assert "KeyError" in scalar(
        database_url, "SELECT error FROM webhook_inbox WHERE processing_status = 'dead'"
    )
