"""Chaos acceptance (issue 5) on the real engines: 500 simulated calls (and an SMS for 30%
of them) whose callbacks are duplicated (30%), reordered (20%), delayed past the call's end
(10%) and dropped (10%). After one hot and one warm reconcile every call in `GET /api/calls`
and every message in `GET /api/messages` equals the simulator's truth, duplicates added no
events, and the drift counter counts exactly the calls and messages that were wrong."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections import Counter
from typing import Any

import httpx
import psycopg
from apiclient import BASE_URL, serving

from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.projects import create_project
from adapters.postgres.sync_state import drift_totals
from adapters.twilio.kinds import KINDS
from adapters.twilio.simulator import Chaos, ProviderSimulator
from domain.call import handle_call_command
from entrypoints.settings import Settings
from entrypoints.workers.run import run_worker
from support import VOICE_PATH

CALLS = 500
SPEED = 100.0  # a 40 s call plays in 0.4 s
CHAOS = Chaos(duplicates=0.3, reorder=0.2, delays=0.1, drops=0.1, delay_seconds=20)
STATUS_FIELDS = ("status", "parent_call_sid", "duration_seconds", "answered_by")
RECORDING_FIELDS = (
    "recording_sid",
    "recording_status",
    "recording_url",
    "recording_duration_seconds",
    "recording_channels",
)
PRICE_FIELDS = ("price", "price_unit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrong_kinds(row: dict[str, Any] | None, truth: dict[str, Any]) -> set[str]:
    """Which drift kinds separate our row from the provider's truth."""
    if row is None:
        return {"status"}
    kinds = set()
    if any(row[f] != truth[f] for f in STATUS_FIELDS):
        kinds.add("status")
    if any(row[f] != truth[f] for f in RECORDING_FIELDS):
        kinds.add("recording")
    return kinds


async def all_rows(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, key: str
) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, headers=auth, params=params)).json()
        rows |= {r[key]: r for r in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return rows


async def all_calls(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    return await all_rows(client, auth, "/api/calls", "call_sid")


async def all_messages(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> dict[str, dict[str, Any]]:
    return await all_rows(client, auth, "/api/messages", "message_sid")


def message_wrong(row: dict[str, Any] | None, truth: dict[str, Any]) -> bool:
    return row is None or (row["status"], row["error_code"]) != (
        truth["status"],
        truth["error_code"],
    )


async def settled(database_url: str, timeout: float = 60.0) -> None:
    """The inbox is drained and the calls and messages views have applied every event."""
    views = [PostgresCallsView.projection.name, PostgresMessagesView.projection.name]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with psycopg.connect(database_url) as conn:
            pending, head, position = conn.execute(
                "SELECT (SELECT count(*) FROM webhook_inbox WHERE processing_status = 'pending'),"
                " (SELECT coalesce(max(notification_id), 0) FROM eventlog_events),"
                " (SELECT coalesce(min(position), 0) FROM stream_positions WHERE name = ANY(%s))",
                (views,),
            ).fetchone() or (1, 1, 0)
        if pending == 0 and position == head:
            return
        assert asyncio.get_running_loop().time() < deadline, (pending, head, position)
        await asyncio.sleep(0.1)


def event_counts(database_url: str) -> tuple[int, int]:
    """(events caused by voice webhooks, all call events) in the call log's feed."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE operation_id LIKE 'webhook:voice:%%'), count(*)"
            " FROM call_events"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def clean_run_events(database_url: str, project_id: str) -> int:
    """Events the distinct stored voice callbacks make when every stored call callback is
    applied exactly once, in the order stored: what a duplicate-free provider would have
    produced. Recording callbacks are replayed too (one may open a call before its first
    status arrives) but their events are not counted, as `event_counts` does not."""
    calls: dict[str, Any] = {}
    total = 0
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_type, dedupe_key, payload FROM webhook_inbox"
            " WHERE event_type IN ('voice-status', 'recording-status') ORDER BY id"
        ).fetchall()
    for kind, key, payload in rows:
        cmd = KINDS[kind].normalize(
            payload, operation_id=f"webhook:{key}", project_id=project_id, trace_id=""
        )
        call, _ = handle_call_command(calls.get(cmd.call_sid), cmd)
        calls[cmd.call_sid] = call
        events = len(call.collect_events()) if call else 0
        total += events if kind == "voice-status" else 0
    return total


def test_reconcile_repairs_what_a_lossy_provider_broke(
    settings: Settings, nats_url: str, database_url: str
) -> None:
    port = free_port()
    account, token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
    project, key = create_project(
        database_url,
        name="chaos",
        twilio_account_sid=account,
        twilio_auth_token=token,
        provider_api_url=f"http://127.0.0.1:{port}",
    )
    auth = {"Authorization": f"Bearer {key}"}
    worker_settings = settings.model_copy(update={"nats_url": nats_url, "reconcile_enabled": False})
    sim = ProviderSimulator(
        BASE_URL + VOICE_PATH,
        account,
        token,
        seed=2026,
        speed=SPEED,
        chaos=CHAOS,
        keep_deliveries=True,
        message_share=0.3,
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        rest = asyncio.create_task(sim.serve("127.0.0.1", port, stop))
        worker = asyncio.create_task(run_worker(worker_settings, stop))
        try:
            async with serving(worker_settings) as (client, _):
                report = await sim.run(CALLS, rate=250.0, client=client)
                await settled(database_url)
                truth = sim.truth()["calls"]
                assert len(truth) > CALLS  # child legs on top
                sent = report.posted - report.duplicates  # each callback once
                assert 0.08 < report.dropped / (sent + report.dropped) < 0.12
                assert 0.25 < report.duplicates / sent < 0.35
                assert report.reordered > 0
                assert report.delayed > 0

                # Duplicates: stored once, and no events beyond a clean single delivery.
                voice = {k for k in report.accepted if k[0] == "voice"}
                with psycopg.connect(database_url) as conn:
                    stored = conn.execute(
                        "SELECT count(*) FROM webhook_inbox WHERE event_type = 'voice-status'"
                    ).fetchone()
                assert stored == (len(voice),)
                assert sum(n - 1 for n in report.accepted.values()) > 0
                from_webhooks, _ = event_counts(database_url)
                assert from_webhooks == clean_run_events(database_url, project.id)

                before = await all_calls(client, auth)
                wrong = {sid: wrong_kinds(before.get(sid), t) for sid, t in truth.items()}
                wrong = {sid: kinds for sid, kinds in wrong.items() if kinds}
                expected = Counter(kind for kinds in wrong.values() for kind in kinds)
                assert expected["status"] > 0
                assert expected["recording"] > 0
                messages_truth = sim.truth()["messages"]
                assert messages_truth
                messages_before = await all_messages(client, auth)
                expected["message"] = sum(
                    message_wrong(messages_before.get(sid), t) for sid, t in messages_truth.items()
                )
                # Only lost callbacks make a call wrong; duplicates and reordering do not.
                assert set(wrong) <= report.lossy_calls

                hot = await client.post("/api/sync/reconcile/hot", headers=auth)
                assert hot.status_code == 200, hot.text
                await settled(database_url)
                warm = await client.post("/api/sync/reconcile/warm", headers=auth)
                assert warm.status_code == 200, warm.text
                await settled(database_url)

                after = await all_calls(client, auth)
                for sid, t in truth.items():
                    row = after.get(sid)
                    assert row is not None, sid
                    fields = STATUS_FIELDS + RECORDING_FIELDS + PRICE_FIELDS
                    assert {f: row[f] for f in fields} == {f: t[f] for f in fields}, sid
                    # Parties too, even for a call whose recording callback came first.
                    assert row["direction"] == t["direction"], sid

                messages_after = await all_messages(client, auth)
                for sid, t in messages_truth.items():
                    assert not message_wrong(messages_after.get(sid), t), sid

                found = Counter(hot.json()["drift"]) + Counter(warm.json()["drift"])
                assert found == expected
                totals = drift_totals(database_url)
                by_kind: Counter[str] = Counter()
                for (_, kind), n in totals.items():
                    by_kind[kind] += n
                assert by_kind == expected
                assert warm.json()["enriched"] + hot.json()["enriched"] == sum(
                    1 for t in truth.values() if t["price"] is not None
                )

                # A repeated reconcile finds nothing and appends nothing.
                _, events = event_counts(database_url)
                for job in ("hot", "warm"):
                    again = await client.post(f"/api/sync/reconcile/{job}", headers=auth)
                    assert again.json()["drift_found"] == 0
                    assert again.json()["repaired"] == 0
                await settled(database_url)
                assert event_counts(database_url)[1] == events
                assert drift_totals(database_url) == totals
        finally:
            stop.set()
            await asyncio.gather(worker, rest)

    asyncio.run(scenario())
