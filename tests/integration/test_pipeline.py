"""The thin path end to end on real engines: webhook -> inbox -> worker -> event store ->
relay -> JetStream -> PostgreSQL view, ClickHouse facts and the SSE feed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from apiclient import BASE_URL, serving
from waiting import eventually

from adapters.clickhouse.client import ClickHouse
from adapters.postgres.projects import Project, create_project
from entrypoints.api.deps import Services
from entrypoints.settings import Settings
from entrypoints.workers.run import run_worker
from support import apost_callback, voice_callback

CALL = "CA" + "a" * 32
LIFECYCLE = ["initiated", "ringing", "in-progress", "completed"]


@pytest.fixture
def pipeline_settings(settings: Settings, nats_url: str, clickhouse: ClickHouse) -> Settings:
    return settings.model_copy(update={"nats_url": nats_url, "clickhouse_url": clickhouse.url})


def parse_frames(chunks: list[bytes]) -> list[dict[str, Any]]:
    """SSE events from the stream's chunks (a chunk may hold several events)."""
    events = []
    for frame in b"".join(chunks).split(b"\n\n"):
        fields = dict(
            line.split(": ", 1) for line in frame.decode().strip().splitlines() if ": " in line
        )
        if "id" in fields:
            events.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return events


async def collect(stream: Any, into: list[bytes]) -> None:
    async for frame in stream:
        into.append(frame)


def test_signed_callbacks_reach_the_api_clickhouse_and_the_sse_stream_once(
    pipeline_settings: Settings,
    project: tuple[Project, str],
    database_url: str,
    clickhouse: ClickHouse,
) -> None:
    proj, key = project
    other, other_key = create_project(
        database_url, name="other", twilio_account_sid="AC" + "9" * 32, twilio_auth_token="t"
    )
    auth = {"Authorization": f"Bearer {key}"}

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(pipeline_settings, stop))
        try:
            async with serving(pipeline_settings, clickhouse=True) as (client, app):
                services: Services = app.state.services
                ours: list[bytes] = []
                theirs: list[bytes] = []
                readers = [
                    asyncio.create_task(collect(services.hub.stream(proj.id, 0), ours)),
                    asyncio.create_task(collect(services.hub.stream(other.id, 0), theirs)),
                ]
                # Other aggregates share the log: a campaign's events come first here, and
                # the call projections must step over them, not stall on them.
                campaign = await client.post(
                    "/api/campaigns",
                    headers=auth,
                    json={"key": "k", "name": "Spring", "limits": {"timezone": "UTC"}},
                )
                assert campaign.status_code == 201
                for seq, status in enumerate(LIFECYCLE):
                    params = voice_callback(proj.twilio_account_sid, CALL, status, seq)
                    response = await apost_callback(
                        client, BASE_URL, proj.twilio_auth_token, params
                    )
                    assert response.status_code == 200
                    if status == "ringing":  # a provider retry: same callback again
                        again = await apost_callback(
                            client, BASE_URL, proj.twilio_auth_token, params
                        )
                        assert again.json()["duplicate"] is True

                async def call() -> dict[str, Any]:
                    r = await client.get(f"/api/calls/{CALL}", headers=auth)
                    return r.json() if r.status_code == 200 else {}

                snapshot = await eventually(call, lambda c: c.get("status") == "completed")
                assert snapshot["is_final"] is True
                assert snapshot["answered_at"] is not None
                assert snapshot["last_sequence_number"] == 3
                # created, four observations (ringing once), answered, ended
                assert snapshot["version"] == 7

                events = await eventually(lambda: parse_frames(ours), lambda e: len(e) >= 7)
                assert [e["event"] for e in events] == ["call.created"] + ["call.updated"] * 6
                statuses = [e["data"]["payload"].get("status") for e in events[1:]]
                assert statuses == [*LIFECYCLE[:3], None, "completed", "completed"]
                assert "answered_at" in events[4]["data"]["payload"]
                ids = [e["id"] for e in events]
                assert ids == sorted(set(ids))
                assert all(e["data"]["project_id"] == proj.id for e in events)
                assert all(e["data"]["entity"] == {"type": "call", "id": CALL} for e in events)

                facts = await eventually(
                    lambda: asyncio.to_thread(
                        clickhouse.query,
                        "SELECT event_type, status FROM call_events FINAL"
                        " WHERE call_sid = {sid:String} ORDER BY position",
                        {"sid": CALL},
                    ),
                    lambda rows: len(rows) >= 7,
                )
                assert facts == [("call.created", "")] + [
                    ("call.updated", s) for s in [*LIFECYCLE[:3], "", "completed", "completed"]
                ]

                # Another project's key and stream never see this call.
                foreign = await client.get(
                    f"/api/calls/{CALL}", headers={"Authorization": f"Bearer {other_key}"}
                )
                assert foreign.status_code == 404
                active = await client.get(
                    "/api/calls/active", headers={"Authorization": f"Bearer {other_key}"}
                )
                assert active.json()["calls"] == []
                assert parse_frames(theirs) == []
                for reader in readers:
                    reader.cancel()
        finally:
            stop.set()
            await worker

    asyncio.run(scenario())


def test_reads_need_a_valid_key(pipeline_settings: Settings, project: tuple[Project, str]) -> None:
    async def scenario() -> None:
        async with serving(pipeline_settings) as (client, _):
            missing = await client.get(f"/api/calls/{CALL}")
            wrong = await client.get(
                f"/api/calls/{CALL}", headers={"Authorization": "Bearer sb_nope"}
            )
            assert missing.status_code == 401
            assert wrong.status_code == 401
            assert wrong.json()["error"]["code"] == "API_KEY_INVALID"

    asyncio.run(scenario())


def test_views_stay_correct_while_nats_is_unreachable(
    settings: Settings, project: tuple[Project, str], clickhouse: ClickHouse
) -> None:
    """NATS is the fast path only: with no server at all, projections follow the store."""
    proj, key = project
    from adapters.embedded.processes import free_port

    no_nats = settings.model_copy(
        update={"nats_url": f"nats://127.0.0.1:{free_port()}", "clickhouse_url": clickhouse.url}
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(no_nats, stop))
        try:
            async with serving(no_nats, clickhouse=True) as (client, _):
                for seq, status in enumerate(LIFECYCLE[:2]):
                    params = voice_callback(proj.twilio_account_sid, CALL, status, seq)
                    assert (
                        await apost_callback(client, BASE_URL, proj.twilio_auth_token, params)
                    ).status_code == 200

                async def call() -> dict[str, Any]:
                    r = await client.get(
                        f"/api/calls/{CALL}", headers={"Authorization": f"Bearer {key}"}
                    )
                    return r.json() if r.status_code == 200 else {}

                assert (await eventually(call, lambda c: c.get("status") == "ringing"))[
                    "version"
                ] == 3
                await eventually(
                    lambda: asyncio.to_thread(
                        clickhouse.query, "SELECT count() FROM call_events FINAL"
                    ),
                    lambda rows: rows[0][0] == 3,
                )
                assert not worker.done(), "the worker must not die when NATS is down"
        finally:
            stop.set()
            await worker

    asyncio.run(scenario())
