"""`projections rebuild clickhouse_facts`: the API process (which owns chDB) replays the
store into a shadow database and swaps it in while live events keep flowing (ADR 0007)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import uvicorn
from apiclient import serving
from test_projection_recovery import record_calls
from waiting import eventually

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.rebuild import SHADOW, rebuild_facts
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.projects import Project, issue_api_key
from entrypoints.api.app import create_app
from entrypoints.cli.main import main
from entrypoints.settings import Settings
from entrypoints.workers.projections import clickhouse_projection
from entrypoints.workers.run import run_worker

REBUILD = "/api/admin/projections/clickhouse_facts/rebuild"


@pytest.fixture
def store(database_url: str) -> Iterator[PostgresEventStore]:
    s = PostgresEventStore(database_url, pool_size=3)
    yield s
    s.close()


@pytest.fixture
def live_settings(settings: Settings, nats_url: str, clickhouse: ClickHouse) -> Settings:
    return settings.model_copy(update={"nats_url": nats_url, "clickhouse_url": clickhouse.url})


def ch_counts(ch: ClickHouse) -> dict[str, int]:
    """What an analyst counts, read the exact way (ADR 0005)."""

    def one(sql: str) -> int:
        return int(ch.query(sql)[0][0])

    return {
        "events": one("SELECT count() FROM events FINAL"),
        "call_events": one("SELECT count() FROM call_events FINAL"),
        "calls": one("SELECT count() FROM calls FINAL"),
        "completed": one("SELECT countIf(status = 'completed') FROM calls FINAL"),
        "ended": one("SELECT uniqExactMerge(calls) FROM call_outcomes_per_minute"),
    }


def pg_counts(database_url: str, store: PostgresEventStore) -> dict[str, int]:
    """The same figures from PostgreSQL: the event store and the calls view."""
    with psycopg.connect(database_url) as conn:

        def one(sql: str) -> int:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            return int(row[0]) if row else -1

        return {
            "events": one(f"SELECT count(*) FROM {store.table}"),
            "call_events": one("SELECT count(*) FROM call_events"),
            "calls": one("SELECT count(*) FROM calls"),
            "completed": one("SELECT count(*) FROM calls WHERE status = 'completed'"),
            "ended": one(f"SELECT count(*) FROM {store.table} WHERE topic LIKE '%Call.Ended'"),
        }


def drift(ch: ClickHouse) -> None:
    """Damage every kind of fact: lost events, a wrong call state, lost outcome counts."""
    ch.command("ALTER TABLE events DELETE WHERE position % 3 = 0 SETTINGS mutations_sync = 1")
    ch.command("ALTER TABLE call_events DELETE WHERE position % 2 = 0 SETTINGS mutations_sync = 1")
    ch.command(
        "INSERT INTO calls (project_id, call_sid, status, is_final, sync_state, version,"
        " last_position, created_at, updated_at) SELECT project_id, call_sid, 'failed', true,"
        " 'hot', 999, 0, created_at, now() FROM calls FINAL LIMIT 5"
    )
    ch.command("TRUNCATE TABLE call_outcomes_per_minute")


def test_a_rebuild_repairs_drifted_facts_while_live_events_keep_flowing(
    live_settings: Settings,
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
) -> None:
    proj, admin_key = project
    viewer_key = issue_api_key(database_url, proj.id, role="viewer")
    admin = {"Authorization": f"Bearer {admin_key}"}

    async def matches_postgres() -> None:
        def both() -> tuple[dict[str, int], dict[str, int]]:
            return ch_counts(clickhouse), pg_counts(database_url, store)

        await eventually(lambda: asyncio.to_thread(both), lambda p: p[0] == p[1], timeout=60)

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(live_settings, stop))
        try:
            async with serving(live_settings, clickhouse=True) as (client, _):
                await asyncio.to_thread(record_calls, database_url, store, proj, 60, 11)
                await matches_postgres()
                await asyncio.to_thread(drift, clickhouse)
                assert await asyncio.to_thread(ch_counts, clickhouse) != await asyncio.to_thread(
                    pg_counts, database_url, store
                )

                refused = await client.post(
                    REBUILD, headers={"Authorization": f"Bearer {viewer_key}"}
                )
                assert refused.status_code == 403
                assert refused.json()["error"]["code"] == "ROLE_FORBIDDEN"

                # Live traffic before, during and after the rebuild.
                flowing = asyncio.create_task(
                    asyncio.to_thread(record_calls, database_url, store, proj, 30, 12)
                )
                started = await client.post(REBUILD, headers=admin, params={"batch_size": 100})
                assert started.status_code == 202, started.text
                assert started.json()["state"] == "running"
                again = await client.post(REBUILD, headers=admin)
                assert again.status_code == 409
                # The progress it reports.
                seen: list[dict[str, Any]] = []

                async def status() -> dict[str, Any]:
                    body: dict[str, Any] = (await client.get(REBUILD, headers=admin)).json()
                    seen.append(body)
                    return body

                final = await eventually(status, lambda s: s["state"] != "running", timeout=120)
                assert final["state"] == "done", final
                assert any(0 < s["done"] <= s["total"] for s in seen)
                await flowing
                await matches_postgres()

                # The materialized views feed the swapped-in tables: calls that end after the
                # swap are counted in the per-minute outcomes (part of matches_postgres).
                await asyncio.to_thread(record_calls, database_url, store, proj, 20, 13)
                await matches_postgres()
                leftovers = await asyncio.to_thread(
                    clickhouse.query,
                    "SELECT count() FROM system.databases WHERE name = {db:String}",
                    {"db": SHADOW},
                )
                assert leftovers[0][0] == 0
        finally:
            stop.set()
            await worker

    asyncio.run(scenario())


def test_the_rebuild_endpoints_need_an_admin_key(
    live_settings: Settings, database_url: str, project: tuple[Project, str]
) -> None:
    proj, _ = project
    viewer = {"Authorization": f"Bearer {issue_api_key(database_url, proj.id, role='viewer')}"}

    async def scenario() -> None:
        async with serving(live_settings) as (client, _):
            for method in ("GET", "POST"):
                r = await client.request(method, REBUILD, headers=viewer)
                assert r.status_code == 403
                assert r.json()["error"]["code"] == "ROLE_FORBIDDEN"
            assert (await client.get(REBUILD)).status_code == 401

    asyncio.run(scenario())


@contextlib.contextmanager
def api_server(settings: Settings) -> Iterator[str]:
    """The API on a real socket, owning chDB and its projection, as `serve api` runs it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings, run_clickhouse_projection=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_the_cli_rebuilds_embedded_clickhouse_through_the_api_with_a_progress_bar(
    live_settings: Settings,
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proj, admin_key = project
    viewer_key = issue_api_key(database_url, proj.id, role="viewer")
    record_calls(database_url, store, proj, 20, 21)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CLICKHOUSE_URL", clickhouse.url)  # chdb://: embedded
    command = ["projections", "rebuild", "clickhouse_facts"]
    with api_server(live_settings) as url:
        assert main([*command, "--api-url", url]) == 2
        assert "--api-key" in capsys.readouterr().err
        assert main([*command, "--api-url", url, "--api-key", viewer_key]) == 1
        assert "403 ROLE_FORBIDDEN" in capsys.readouterr().err
        assert (
            main([*command, "--api-url", url, "--api-key", admin_key, "--batch-size", "100"]) == 0
        )
        err = capsys.readouterr().err
        assert f"{store.head():,}/{store.head():,} events" in err
        assert "clickhouse_facts rebuilt up to position" in err
    assert_facts_match_the_store(clickhouse, database_url, store, calls=20)

    # With nothing serving, the CLI opens chDB itself.
    clickhouse.command("TRUNCATE TABLE call_outcomes_per_minute")
    assert main([*command, "--api-url", url]) == 0
    assert "opening chDB in this process" in capsys.readouterr().err
    assert_facts_match_the_store(clickhouse, database_url, store, calls=20)


def assert_facts_match_the_store(
    ch: ClickHouse, database_url: str, store: PostgresEventStore, *, calls: int
) -> None:
    counts, expected = ch_counts(ch), pg_counts(database_url, store)
    assert counts["events"] == counts["call_events"] == expected["events"] == store.head()
    assert counts["ended"] == counts["calls"] == expected["ended"] == calls


def test_without_a_pause_the_replay_after_the_swap_covers_a_live_projection_elsewhere(
    live_settings: Settings,
    database_url: str,
    store: PostgresEventStore,
    project: tuple[Project, str],
    clickhouse: ClickHouse,
) -> None:
    """As with a ClickHouse server: the CLI rebuilds while another process's projection,
    which it cannot pause, keeps writing."""
    proj, _ = project

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(run_worker(live_settings, stop)),
            asyncio.create_task(clickhouse_projection(live_settings, stop)),  # no shared gate
        ]
        try:
            await asyncio.to_thread(record_calls, database_url, store, proj, 40, 31)
            await asyncio.to_thread(drift, clickhouse)
            flowing = asyncio.create_task(
                asyncio.to_thread(record_calls, database_url, store, proj, 40, 32)
            )
            await rebuild_facts(clickhouse.url, store, batch=100)
            await flowing
            await asyncio.to_thread(record_calls, database_url, store, proj, 10, 33)

            def both() -> tuple[dict[str, int], dict[str, int]]:
                return ch_counts(clickhouse), pg_counts(database_url, store)

            await eventually(lambda: asyncio.to_thread(both), lambda p: p[0] == p[1], timeout=60)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
