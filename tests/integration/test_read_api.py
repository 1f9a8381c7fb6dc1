"""The read API over the views: delta feed, a call's events and history, conversations
(seed 003's shape), messages and campaign stats; each scoped to the key's project."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from apiclient import serving

from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from domain_events import OTHER_PROJECT, PROJECT, call_events
from entrypoints.cli.projections import READ_MODELS
from entrypoints.settings import Settings

pytest_plugins = ["read_fixtures"]  # the keys and history fixtures


def test_reads_return_the_projects_data_and_nothing_of_anyone_elses(
    settings: Settings, keys: dict[str, str], history: dict[str, Any]
) -> None:
    ours = {"Authorization": f"Bearer {keys[PROJECT]}"}
    theirs = {"Authorization": f"Bearer {keys[OTHER_PROJECT]}"}

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            feed = (await client.get("/api/events?after_seq=0&limit=2", headers=ours)).json()
            assert [i["type"] for i in feed["items"]] == ["call.created", "call.updated"]
            rest = (
                await client.get(f"/api/events?after_seq={feed['next_after_seq']}", headers=ours)
            ).json()
            ids = [i["id"] for i in feed["items"] + rest["items"]]
            assert ids == sorted(set(ids))
            assert all(i["entity"]["id"] == "CA1" for i in feed["items"] + rest["items"])

            events = (await client.get("/api/calls/CA1/events", headers=ours)).json()["events"]
            assert [e["status"] for e in events if e["event_type"] == "call.updated"][:3] == [
                "ringing",
                "in-progress",
                None,
            ]
            ringing = events[1]
            past = (
                await client.get(
                    "/api/calls/CA1/history", headers=ours, params={"as_of": ringing["recorded_at"]}
                )
            ).json()
            now = (await client.get("/api/calls/CA1/history", headers=ours)).json()
            assert past["state"]["status"] == "ringing"
            assert len(past["events"]) == 2
            assert now["state"]["status"] == "completed"
            assert now["state"]["answered_at"] is not None

            conversations = (await client.get("/api/conversations", headers=ours)).json()
            (alice,) = [c for c in conversations["items"] if c["address"] == history["alice"]]
            assert alice["total_calls"] == 1
            assert alice["total_messages"] == 1
            items = (
                await client.get(
                    f"/api/conversations/{alice['conversation_id']}/messages", headers=ours
                )
            ).json()["items"]
            assert {i["kind"] for i in items} == {"call", "message"}

            messages = (await client.get("/api/messages", headers=ours)).json()["items"]
            assert [(m["message_sid"], m["status"], m["error_code"]) for m in messages] == [
                ("SM1", "undelivered", 30003)
            ]

            stats = (
                await client.get(f"/api/campaigns/{history['campaign_id']}/stats", headers=ours)
            ).json()
            assert stats["campaign"]["state"] == "completed"

            # The other project sees none of it, in any endpoint.
            assert (await client.get("/api/events?after_seq=0", headers=theirs)).json()[
                "items"
            ] == []
            for path in (
                "/api/calls/CA1/events",
                "/api/calls/CA1/history",
                f"/api/conversations/{alice['conversation_id']}/messages",
                f"/api/campaigns/{history['campaign_id']}/stats",
            ):
                assert (await client.get(path, headers=theirs)).status_code == 404, path
            assert (await client.get("/api/conversations", headers=theirs)).json()["items"] == []
            assert (await client.get("/api/messages", headers=theirs)).json()["items"] == []

            bad = await client.get("/api/messages?cursor=not-a-cursor", headers=ours)
            assert bad.status_code == 422
            assert bad.json()["error"]["code"] == "INVALID_CURSOR"
            for time in ("7917", "1.5e9", "yesterday"):  # the spec says ISO 8601 date-time
                unix = await client.get(f"/api/calls?started_to={time}", headers=ours)
                assert unix.status_code == 422, time
            iso = await client.get("/api/calls?started_to=2026-11-21T12:00:00Z", headers=ours)
            assert iso.status_code == 200
            nul = await client.get("/api/calls/CA%001/events", headers=ours)
            assert nul.status_code == 422  # PostgreSQL text cannot hold NUL: refused first
            assert nul.json()["error"]["details"]["trace_id"] == nul.headers["x-trace-id"]
            wrong_method = await client.delete("/api/calls/active", headers=ours)
            assert wrong_method.status_code == 405
            assert wrong_method.headers["allow"] == "GET"
            assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"

    asyncio.run(scenario())


def test_calls_can_be_filtered_and_paged_without_gaps_or_repeats(
    settings: Settings, keys: dict[str, str], database_url: str
) -> None:
    store = PostgresEventStore(database_url)
    for n in range(7):
        events = call_events(
            f"CA{n}",
            ["ringing", "busy" if n % 2 else "completed"],
            direction="inbound" if n < 3 else "outbound-api",
            to_number=f"+1415555000{n}",
        )
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), events)

    async def scenario() -> None:
        pool = await open_async_pool(database_url)
        await READ_MODELS["calls_view"][1](pool, "calls_view").apply(
            await asyncio.to_thread(store.read, 0, None, 10_000)
        )
        await pool.close()
        ours = {"Authorization": f"Bearer {keys[PROJECT]}"}
        async with serving(settings) as (client, app):
            seen: list[str] = []
            cursor = None
            while True:
                params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
                body = (await client.get("/api/calls", headers=ours, params=params)).json()
                seen += [c["call_sid"] for c in body["items"]]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert sorted(seen) == [f"CA{n}" for n in range(7)]
            assert len(seen) == len(set(seen))

            busy = (await client.get("/api/calls", headers=ours, params={"status": "busy"})).json()[
                "items"
            ]
            assert {c["call_sid"] for c in busy} == {"CA1", "CA3", "CA5"}
            inbound = (
                await client.get("/api/calls", headers=ours, params={"direction": "inbound"})
            ).json()["items"]
            assert {c["call_sid"] for c in inbound} == {"CA0", "CA1", "CA2"}
            by_number = (
                await client.get("/api/calls", headers=ours, params={"number": "+14155550004"})
            ).json()["items"]
            assert [c["call_sid"] for c in by_number] == ["CA4"]

            # SSE keeps only the requested types, and still resumes past the others.
            stream = app.state.services.hub.stream(PROJECT, 0, frozenset({"call.created"}))
            frames = []
            with contextlib.suppress(TimeoutError):
                while True:
                    frames.append(await asyncio.wait_for(anext(stream), timeout=1.0))
            await stream.aclose()
            created = [f for f in b"".join(frames).split(b"\n\n") if b"event: " in f]
            assert len(created) == 7
            assert all(b"event: call.created" in f for f in created)

    try:
        asyncio.run(scenario())
    finally:
        store.close()
