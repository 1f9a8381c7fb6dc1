"""Reconcile jobs against the simulator's REST API on real PostgreSQL: the manual sync
endpoints and their roles, freezing, cursors across restarts, index-only candidate
queries, and the worker's schedule under leadership."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from apiclient import serving
from prometheus_client.parser import text_string_to_metric_families
from provider import NOWHERE, running_provider

from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.projects import Project, create_project, issue_api_key
from adapters.postgres.sync_state import load_cursor, sync_states
from adapters.reconcile.jobs import ACTIVE_CALLS, SETTLED_CALLS, Reconciler
from adapters.twilio.simulator import ProviderSimulator
from entrypoints.settings import Settings
from entrypoints.workers.reconcile import run_reconcile_schedule

ACCOUNT = "AC" + "7" * 32
TOKEN = "reconcile-token"


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[ProviderSimulator, str]]:
    """20 finished calls whose callbacks all failed: we have heard of none of them."""
    sim = ProviderSimulator(NOWHERE, ACCOUNT, TOKEN, seed=21, speed=1000)
    with running_provider(sim, calls=20) as base_url:
        asyncio.run(asyncio.sleep(0.2))  # prices settle after the end
        yield sim, base_url


@pytest.fixture
def tenant(database_url: str, provider: tuple[ProviderSimulator, str]) -> tuple[Project, str]:
    _, base_url = provider
    return create_project(
        database_url,
        name="reconciled",
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        provider_api_url=base_url,
    )


def event_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM eventlog_events").fetchone()
    assert row is not None
    return int(row[0])


def test_sync_endpoints_repair_and_are_idempotent(
    settings: Settings,
    database_url: str,
    tenant: tuple[Project, str],
    provider: tuple[ProviderSimulator, str],
) -> None:
    project, key = tenant
    sim, _ = provider
    truth = sim.truth()["calls"]
    sid = next(s for s, t in truth.items() if t["status"] == "completed")
    viewer = issue_api_key(database_url, project.id, "viewer")
    bare, bare_key = create_project(
        database_url, name="bare", twilio_account_sid="AC" + "8" * 32, twilio_auth_token="t"
    )

    async def scenario() -> None:
        async with serving(settings) as (client, app):
            auth = {"Authorization": f"Bearer {key}"}
            denied = await client.post(
                "/api/sync/today", headers={"Authorization": f"Bearer {viewer}"}
            )
            assert denied.status_code == 403
            assert denied.json()["error"]["code"] == "ROLE_FORBIDDEN"
            unset = await client.post(
                "/api/sync/reconcile/hot", headers={"Authorization": f"Bearer {bare_key}"}
            )
            assert unset.status_code == 409
            assert unset.json()["error"]["code"] == "PROVIDER_API_NOT_CONFIGURED"
            unknown = await client.post(f"/api/sync/call/CA{'0' * 32}", headers=auth)
            assert unknown.status_code == 404
            assert unknown.json()["error"]["code"] == "PROVIDER_CALL_NOT_FOUND"
            bad_job = await client.post("/api/sync/reconcile/lukewarm", headers=auth)
            assert bad_job.status_code == 422

            one = await client.post(f"/api/sync/call/{sid}", headers=auth)
            assert one.status_code == 200, one.text
            assert one.json()["drift"]["status"] == 1
            assert one.json()["checked"] == 1
            call = app.state.services.store.call_as_of(project.id, sid)
            assert (call.status, call.duration_seconds, call.price) == (
                "completed",
                truth[sid]["duration_seconds"],
                truth[sid]["price"],
            )
            again = await client.post(f"/api/sync/call/{sid}", headers=auth)
            assert again.json()["drift_found"] == again.json()["repaired"] == 0

            today = await client.post("/api/sync/today", headers=auth)
            body = today.json()
            assert body["checked"] == len(truth)
            assert body["drift"]["status"] == len(truth) - 1  # all but the one synced above
            before = event_count(database_url)
            repeat = await client.post("/api/sync/today", headers=auth)
            assert repeat.json()["repaired"] == 0
            assert event_count(database_url) == before

            metrics = (await client.get("/metrics")).text
            drift = {
                (sample.labels["job"], sample.labels["kind"]): sample.value
                for family in text_string_to_metric_families(metrics)
                if family.name == "reconcile_drift_detected"
                for sample in family.samples
                if sample.name == "reconcile_drift_detected_total"
            }
            reported = {("call", k): n for k, n in one.json()["drift"].items() if n}
            reported |= {("today", k): n for k, n in body["drift"].items() if n}
            assert drift == reported  # what each run answered, summed by /metrics
            assert drift[("today", "status")] == len(truth) - 1

            state = (await client.get("/api/sync/state", headers=auth)).json()["jobs"]
            assert {j["job_name"] for j in state} == {"call", "today"}
            assert all(j["last_success_at"] for j in state)
            assert bare.id not in str(state)

    asyncio.run(scenario())


def test_warm_cursor_survives_a_restart_and_a_failed_run_keeps_it(
    database_url: str, tenant: tuple[Project, str], store: PostgresEventStore
) -> None:
    project, _ = tenant
    first = datetime.now(UTC)
    Reconciler(database_url, store).run("warm", project, now=first)
    assert load_cursor(database_url, f"warm:{project.id}") == {"ended_after": first.isoformat()}

    restarted = Reconciler(database_url, store)  # a new process reads the same cursor
    later = first + timedelta(minutes=10)
    result = restarted.run("warm", project, now=later)
    overlap = timedelta(minutes=restarted.policy.overlap_minutes)
    assert result.window == {"ended_after": (first - overlap).isoformat()}

    broken = Project(project.id, project.name, ACCOUNT, TOKEN, "http://127.0.0.1:9")
    with pytest.raises(Exception, match="Connection"):
        restarted.run("warm", broken, now=later + timedelta(minutes=10))
    (row,) = sync_states(database_url, "warm:")
    assert row["cursor"] == {"ended_after": later.isoformat()}
    assert "Connection" in row["last_error"]


def test_cold_freezes_settled_calls_and_every_job_then_skips_them(
    database_url: str,
    tenant: tuple[Project, str],
    store: PostgresEventStore,
    provider: tuple[ProviderSimulator, str],
) -> None:
    project, _ = tenant
    sim, _ = provider
    reconciler = Reconciler(database_url, store)
    now = datetime.now(UTC)
    assert reconciler.run("cold", project, now=now).frozen == 0  # not settled yet
    _project_calls_view(database_url, store)
    later = now + timedelta(hours=reconciler.policy.freeze_after_hours, minutes=5)
    cold = reconciler.run("cold", project, now=later)
    assert cold.frozen == len(sim.truth()["calls"])
    again = reconciler.run("cold", project, now=later)
    assert again.skipped_frozen == again.checked == len(sim.truth()["calls"])
    assert again.repaired == again.frozen == 0


def _project_calls_view(database_url: str, store: PostgresEventStore) -> None:
    """Bring the calls view up to the store (the worker's projection does this live)."""

    async def catch_up() -> None:
        pool = await open_async_pool(database_url)
        try:
            view = PostgresCallsView(pool)
            events = store.read(await view.position(), None, 100_000)
            await view.apply(events)
        finally:
            await pool.close()

    asyncio.run(catch_up())


@pytest.mark.parametrize(
    ("query", "params", "index"),
    [
        (ACTIVE_CALLS, (1000,), "calls_active"),
        (SETTLED_CALLS, (datetime.now(UTC), 1000), "calls_unfrozen_finalized"),
    ],
)
def test_candidate_queries_read_an_index_range_not_the_table(
    database_url: str, query: str, params: tuple[Any, ...], index: str
) -> None:
    """The hot job's and the freeze step's own statements can use their partial index
    (with sequential scans priced out, as they are on a big table)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN " + query, ("00000000-0000-0000-0000-000000000000", *params)
        ).fetchall()
    assert index in " ".join(r[0] for r in plan)


def test_the_leader_runs_due_jobs_and_a_restart_does_not_rerun_them(
    settings: Settings, database_url: str, tenant: tuple[Project, str], store: PostgresEventStore
) -> None:
    project, _ = tenant
    create_project(  # no provider URL: never reconciled
        database_url, name="bare", twilio_account_sid="AC" + "9" * 32, twilio_auth_token="t"
    )
    fast = settings.model_copy(
        update={
            "reconcile_hot_seconds": 0.2,
            "reconcile_warm_seconds": 3600,
            "reconcile_cold_seconds": 3600,
        }
    )

    async def run_for(seconds: float) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_reconcile_schedule(fast, store, stop))
        await asyncio.sleep(seconds)
        stop.set()
        await task

    def runs() -> dict[str, Any]:
        return {r["job_name"]: r["last_success_at"] for r in sync_states(database_url)}

    asyncio.run(run_for(1.5))
    first = runs()
    assert set(first) == {f"{job}:{project.id}" for job in ("hot", "warm", "cold")}
    asyncio.run(run_for(1.0))  # a restart: hot is due again, warm and cold are not
    second = runs()
    assert second[f"hot:{project.id}"] > first[f"hot:{project.id}"]
    assert second[f"warm:{project.id}"] == first[f"warm:{project.id}"]
    assert second[f"cold:{project.id}"] == first[f"cold:{project.id}"]
