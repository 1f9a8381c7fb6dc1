"""SIGKILL a real inbox worker process in the middle of a batch while a backlog drains:
nothing is lost, nothing is applied twice, and every call ends as a clean run leaves it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from adapters.postgres.database import open_async_pool
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.projects import Project
from support import voice_entry

SRC = Path(__file__).resolve().parents[2] / "src"
APP_NAME = "inbox-worker-under-test"
LIFECYCLE = ["initiated", "ringing", "in-progress", "completed"]
CALLS = 400
# Per call, a clean run records Created, one observation per callback, Answered and Ended.
EVENTS_PER_CALL = 1 + len(LIFECYCLE) + 2
WORKER = """
import sys, threading
from adapters.postgres.event_store import PostgresEventStore
from entrypoints.workers.inbox import run_inbox_worker
store = PostgresEventStore(sys.argv[1])
run_inbox_worker(store, sys.argv[1], threading.Event(), batch_size=int(sys.argv[2]))
"""


def fill(database_url: str, project: Project) -> int:
    async def run() -> int:
        pool = await open_async_pool(database_url)
        inbox = PostgresInbox(pool)
        entries = []
        for c in range(CALLS):
            sid = f"CA{c:032x}"
            for seq, status in enumerate(LIFECYCLE):
                entries.append(
                    voice_entry(project.id, project.twilio_account_sid, sid, status, seq)
                )
        stored = await asyncio.gather(*(inbox.add(e) for e in entries))
        await pool.close()
        return sum(stored)

    return asyncio.run(run())


def start_worker(database_url: str, batch_size: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PGAPPNAME": APP_NAME}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, str(batch_size)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def query(database_url: str, sql: str) -> list[Any]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql).fetchall()


def in_batch(database_url: str) -> bool:
    """The worker holds an open transaction that has claimed rows (it is mid-batch)."""
    rows = query(
        database_url,
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
        f" WHERE a.application_name = '{APP_NAME}' AND a.xact_start IS NOT NULL"
        " AND l.relation = 'webhook_inbox'::regclass AND l.mode = 'RowShareLock'",
    )
    return bool(rows[0][0])


def processed(database_url: str) -> int:
    sql = "SELECT count(*) FROM webhook_inbox WHERE processing_status = 'processed'"
    return int(query(database_url, sql)[0][0])


def wait_until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_sigkill_mid_batch_loses_nothing_and_applies_nothing_twice(
    database_url: str, project: tuple[Project, str]
) -> None:
    rows = fill(database_url, project[0])
    assert rows == CALLS * len(LIFECYCLE)

    victim = start_worker(database_url, batch_size=100)
    try:
        wait_until(lambda: processed(database_url) >= 200, timeout=120)
        wait_until(lambda: in_batch(database_url), timeout=30)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
    done_at_kill = processed(database_url)
    assert 0 < done_at_kill < rows, "the kill must land while the backlog drains"

    survivor = start_worker(database_url, batch_size=100)
    try:
        wait_until(lambda: processed(database_url) == rows, timeout=180)
    finally:
        survivor.terminate()
        survivor.wait(timeout=10)

    assert query(database_url, "SELECT count(*) FROM operations")[0][0] == rows
    assert query(
        database_url,
        "SELECT outcome, count(*) FROM webhook_inbox GROUP BY outcome",
    ) == [("applied", rows)]
    per_call = query(
        database_url,
        "SELECT count(*) AS n FROM eventlog_events GROUP BY originator_id ORDER BY n",
    )
    assert len(per_call) == CALLS
    assert {n for (n,) in per_call} == {EVENTS_PER_CALL}
