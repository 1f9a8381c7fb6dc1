"""Fixtures for tests of the read API: two projects with keys, and a history of one call, one
SMS and one finished campaign in the first project, projected into every read model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from adapters.postgres.database import open_async_pool
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.projects import issue_api_key
from domain_events import (
    OTHER_PROJECT,
    PROJECT,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
)
from entrypoints.cli.projections import READ_MODELS

ALICE = "+14155551212"


@pytest.fixture
def keys(database_url: str) -> dict[str, str]:
    """The fixed project ids the event builders use, each with an admin key."""
    with psycopg.connect(database_url) as conn:
        for i, pid in enumerate((PROJECT, OTHER_PROJECT)):
            conn.execute(
                "INSERT INTO projects (id, name, twilio_account_sid, twilio_auth_token)"
                " VALUES (%s, %s, %s, 't')",
                (pid, f"p{i}", f"AC{i:032d}"),
            )
    return {pid: issue_api_key(database_url, pid) for pid in (PROJECT, OTHER_PROJECT)}


@pytest.fixture
def history(database_url: str) -> Iterator[dict[str, Any]]:
    """Call CA1 (ringing, in-progress, completed) to ALICE, SMS SM1 to her, a campaign."""
    store = PostgresEventStore(database_url)
    campaign = completed_campaign()
    _, sms = message_events(
        "SM1", [("sent", {}), ("undelivered", {"error_code": 30003})], **outbound_sms(ALICE)
    )
    batches = [
        campaign.events,
        call_events("CA1", ["ringing", "in-progress", "completed"], to_number=ALICE),
        sms,
    ]
    for events in batches:
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), events)

    async def project_all() -> None:
        pool = await open_async_pool(database_url)
        items = await asyncio.to_thread(store.read, 0, None, 10_000)
        for name, (_, make) in READ_MODELS.items():
            await make(pool, name).apply(items)
        await pool.close()

    asyncio.run(project_all())
    yield {"campaign_id": str(campaign.id), "store": store, "alice": ALICE}
    store.close()
