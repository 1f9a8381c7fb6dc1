"""Audit test helpers: calls written by the real inbox worker, projected, then tampered with."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import PostgresInbox
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project
from entrypoints.cli.main import main
from entrypoints.cli.projections import READ_MODELS
from entrypoints.workers.inbox import NORMALIZERS
from support import voice_entry

LIFECYCLE = ["initiated", "ringing", "in-progress", "completed"]


def receive(
    database_url: str, project: Project, sid: str, statuses: list[str], first: int = 0
) -> None:
    """Store callbacks in the inbox as the webhook does, then let one worker process them."""

    async def fill() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        inbox = PostgresInbox(pool)
        for seq, status in enumerate(statuses, first):
            await inbox.add(voice_entry(project.id, project.twilio_account_sid, sid, status, seq))
        await pool.close()

    asyncio.run(fill())
    store = PostgresEventStore(database_url)
    try:
        while PostgresInboxWorker(store, NORMALIZERS).process_batch().claimed:
            pass
    finally:
        store.close()


def project_calls(database_url: str) -> None:
    """Bring the calls view up to the store's head, as the live projection would."""

    async def run() -> None:
        pool = await open_async_pool(database_url, min_size=1, max_size=2)
        store = PostgresEventStore(database_url)
        sink = READ_MODELS["calls_view"][1](pool, "calls_view")
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(max(position), 0) AS p FROM stream_positions"
                " WHERE name = 'calls_view'"
            )
            row = await cur.fetchone()
        items = await asyncio.to_thread(store.read, row["p"] if row else 0, None, 100_000)
        if items:
            await sink.apply(items)
        store.close()
        await pool.close()

    asyncio.run(run())


def rows_of(database_url: str, sid: str) -> list[tuple[int, int]]:
    """(version, position) of a call's stored events, found through its first event's state."""
    with psycopg.connect(database_url) as conn:
        return [
            (v, p)
            for v, p in conn.execute(
                "SELECT originator_version, notification_id FROM eventlog_events"
                " WHERE originator_id IN (SELECT originator_id FROM eventlog_events"
                "  WHERE convert_from(state, 'UTF8')::jsonb->>'call_sid' = %s)"
                " ORDER BY originator_version",
                (sid,),
            )
        ]


def tamper(database_url: str, sql: str, *params: Any) -> None:
    """Change stored rows the way an intruder with superuser rights could: triggers off."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql, params)


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    *argv: str,
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err
