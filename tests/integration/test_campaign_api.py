"""Mutating API requests are idempotent by X-Operation-Id, also under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg
from apiclient import serving

from adapters.postgres.projects import Project, create_project
from entrypoints.settings import Settings

LIMITS = {
    "max_attempts_per_contact": 2,
    "retry_interval_seconds": 600,
    "window_start": "08:00:00",
    "window_end": "21:00:00",
    "timezone": "Europe/Berlin",
    "max_concurrent_calls": 5,
}


def events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM eventlog_events").fetchone()
    assert row is not None
    return int(row[0])


async def post(
    client: httpx.AsyncClient,
    key: str,
    path: str,
    op: str | None,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} | ({"X-Operation-Id": op} if op else {})
    return await client.post(path, json=body, headers=headers)


def test_a_repeated_operation_returns_the_first_outcome_and_records_nothing_more(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    _, key = project

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            created = await post(
                client,
                key,
                "/api/campaigns",
                "op-create",
                {"key": "spring", "name": "Spring", "limits": LIMITS},
            )
            assert created.status_code == 201
            assert created.headers["Idempotent-Replayed"] == "false"
            campaign = created.json()["campaign"]
            assert campaign["state"] == "draft"
            assert campaign["limits"]["timezone"] == "Europe/Berlin"
            cid = campaign["campaign_id"]
            contacts = {
                "contacts": [
                    {"contact_id": "lead-1", "phone_number": "+14155550101"},
                    {"contact_id": "lead-2", "phone_number": "+14155550102"},
                ]
            }
            assert (
                await post(client, key, f"/api/campaigns/{cid}/contacts", "op-add", contacts)
            ).status_code == 200
            first = await post(client, key, f"/api/campaigns/{cid}/start", "op-start")
            after_first = events(database_url)

            again = await post(client, key, f"/api/campaigns/{cid}/start", "op-start")

            assert first.status_code == again.status_code == 200
            assert again.json()["replayed"] is True
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json()["outcome"] == first.json()["outcome"] == "applied"
            assert again.json()["campaign"]["state"] == "running"
            assert events(database_url) == after_first

            # The same request under a new operation id is a new command: now a conflict.
            conflict = await post(client, key, f"/api/campaigns/{cid}/start", "op-start-2")
            assert conflict.status_code == 409
            assert conflict.json()["error"]["code"] == "INVALID_TRANSITION"
            assert conflict.json()["error"]["details"]["trace_id"]

            replayed_create = await post(
                client,
                key,
                "/api/campaigns",
                "op-create",
                {"key": "spring", "name": "Spring", "limits": LIMITS},
            )
            assert replayed_create.status_code == 201
            assert replayed_create.json()["replayed"] is True

    asyncio.run(scenario())


def test_parallel_copies_of_one_operation_apply_it_exactly_once(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    _, key = project

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            copies = await asyncio.gather(
                *[
                    post(
                        client,
                        key,
                        "/api/campaigns",
                        "op-race",
                        {"key": "race", "name": "Race", "limits": LIMITS},
                    )
                    for _ in range(8)
                ]
            )
            assert {r.status_code for r in copies} == {201}
            assert [r.json()["replayed"] for r in copies].count(False) == 1
            assert {r.json()["campaign"]["campaign_id"] for r in copies} == {
                copies[0].json()["campaign"]["campaign_id"]
            }

    asyncio.run(scenario())
    assert events(database_url) == 1
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM operations").fetchone()
    assert row is not None
    assert row[0] == 1


def test_campaigns_are_invisible_to_other_projects_and_bad_limits_are_422(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    _, key = project
    _, other_key = create_project(
        database_url, name="other", twilio_account_sid="AC" + "7" * 32, twilio_auth_token="t"
    )

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            created = await post(
                client,
                key,
                "/api/campaigns",
                None,
                {"key": "mine", "name": "Mine", "limits": LIMITS},
            )
            cid = created.json()["campaign"]["campaign_id"]
            assert created.headers["X-Operation-Id"].startswith("api:")

            peek = await client.get(
                f"/api/campaigns/{cid}", headers={"Authorization": f"Bearer {other_key}"}
            )
            poke = await post(client, other_key, f"/api/campaigns/{cid}/stop", "x")
            bad = await post(
                client,
                key,
                "/api/campaigns",
                None,
                {
                    "key": "bad",
                    "name": "Bad",
                    "limits": {**LIMITS, "timezone": "Mars/Olympus_Mons"},
                },
            )

            assert peek.status_code == 404
            assert poke.status_code == 404
            assert poke.json()["error"]["code"] == "CAMPAIGN_NOT_FOUND"
            assert bad.status_code == 422
            assert bad.json()["error"]["code"] == "INVALID_LIMITS"

    asyncio.run(scenario())
