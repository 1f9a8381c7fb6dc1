"""Failures back off exponentially, then dead-letter; an operator lists, inspects (PII
masked) and replays them through the admin API or the CLI once the cause is fixed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import psycopg
import pytest
from apiclient import BASE_URL, serving
from psycopg.rows import dict_row

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project, create_project, issue_api_key
from domain.message import message_id
from entrypoints.cli.main import main as cli
from entrypoints.settings import Settings
from entrypoints.workers.inbox import NORMALIZERS
from support import apost_callback, message_callback

MESSAGE = "SM" + "6" * 32
PATH = "/webhooks/twilio/messaging-status"
# A worker deployed before it knew messaging callbacks: every such row fails.
OUTDATED = {k: v for k, v in NORMALIZERS.items() if k != "messaging-status"}


def row(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        found = conn.execute(
            "SELECT id, processing_status, attempts, outcome, error, replays,"
            " extract(epoch FROM next_attempt_at - now())::float8 AS wait_s FROM webhook_inbox"
        ).fetchone()
    assert found is not None
    return found


def receive_one(settings: Settings, proj: Project) -> None:
    params = message_callback(
        proj.twilio_account_sid, MESSAGE, "delivered", AuthToken=proj.twilio_auth_token
    )

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            response = await apost_callback(client, BASE_URL, proj.twilio_auth_token, params, PATH)
            assert response.status_code == 200

    asyncio.run(scenario())


def dead_letter_after_backoff(database_url: str, store: Any, attempts: int) -> list[float]:
    """Run the outdated worker until the row is dead; return each wait it was given."""
    worker = PostgresInboxWorker(store, OUTDATED, max_attempts=attempts, backoff_base_seconds=0.2)
    waits = []
    for attempt in range(1, attempts + 1):
        assert worker.process_batch().outcomes == {"failed": 1}
        current = row(database_url)
        assert current["attempts"] == attempt
        assert current["outcome"] == "failed"
        assert "KeyError" in current["error"]
        if attempt < attempts:
            assert current["processing_status"] == "pending"
            waits.append(current["wait_s"])
            assert worker.process_batch().claimed == 0  # not before its time
            time.sleep(max(0.0, current["wait_s"]) + 0.05)
    assert row(database_url)["processing_status"] == "dead"
    assert worker.process_batch().claimed == 0  # dead rows are never claimed again
    return waits


def test_a_poison_row_backs_off_exponentially_then_is_dead_lettered_and_replay_applies_it(
    settings: Settings, project: tuple[Project, str], database_url: str, store: Any
) -> None:
    proj, admin_key = project
    receive_one(settings, proj)

    waits = dead_letter_after_backoff(database_url, store, attempts=3)

    assert 0.1 < waits[0] <= 0.2
    assert 0.3 < waits[1] <= 0.4
    letter_id = row(database_url)["id"]
    reader_key = issue_api_key(database_url, proj.id, role="viewer")
    admin = {"Authorization": f"Bearer {admin_key}"}

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            listed = (await client.get("/api/admin/dead-letters", headers=admin)).json()
            assert [d["id"] for d in listed["items"]] == [letter_id]
            assert listed["items"][0]["attempts"] == 3
            detail = await client.get(f"/api/admin/dead-letters/{letter_id}", headers=admin)
            text = detail.text
            assert detail.status_code == 200
            assert "+14155550100" not in text
            assert "+16505550199" not in text
            assert proj.twilio_auth_token not in text
            assert detail.json()["payload"]["MessageSid"] == MESSAGE
            assert detail.json()["payload"]["From"].endswith("00")
            reader = {"Authorization": f"Bearer {reader_key}"}
            for method, path in [
                ("GET", "/api/admin/dead-letters"),
                ("GET", f"/api/admin/dead-letters/{letter_id}"),
                ("POST", f"/api/admin/dead-letters/{letter_id}/replay"),
                ("POST", "/api/admin/dead-letters/replay"),
            ]:
                response = await client.request(method, path, headers=reader)
                assert response.status_code == 403
                assert response.json()["error"]["code"] == "ROLE_FORBIDDEN"
            replayed = await client.post(
                f"/api/admin/dead-letters/{letter_id}/replay", headers=admin
            )
            assert replayed.json() == {"replayed": 1}
            again = await client.post(f"/api/admin/dead-letters/{letter_id}/replay", headers=admin)
            assert again.status_code == 404

    asyncio.run(scenario())
    assert row(database_url)["processing_status"] == "pending"
    assert row(database_url)["replays"] == 1

    # The cause is fixed (a worker that knows messaging): the replayed row is applied.
    assert PostgresInboxWorker(store, NORMALIZERS).process_batch().outcomes == {"applied": 1}
    assert row(database_url)["processing_status"] == "processed"
    assert store.aggregate(message_id(proj.id, MESSAGE)).status == "delivered"


def test_dead_letters_of_another_project_are_invisible(
    settings: Settings, project: tuple[Project, str], database_url: str, store: Any
) -> None:
    proj, _ = project
    receive_one(settings, proj)
    dead_letter_after_backoff(database_url, store, attempts=1)
    _, other_key = create_project(
        database_url, name="other", twilio_account_sid="AC" + "9" * 32, twilio_auth_token="t"
    )
    other = {"Authorization": f"Bearer {other_key}"}
    letter_id = row(database_url)["id"]

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            listed = (await client.get("/api/admin/dead-letters", headers=other)).json()
            assert listed["items"] == []
            detail = await client.get(f"/api/admin/dead-letters/{letter_id}", headers=other)
            assert detail.status_code == 404
            replay = await client.post("/api/admin/dead-letters/replay", headers=other)
            assert replay.json() == {"replayed": 0}

    asyncio.run(scenario())
    assert row(database_url)["processing_status"] == "dead"


def test_cli_lists_inspects_masked_and_replays_all(
    settings: Settings,
    project: tuple[Project, str],
    database_url: str,
    store: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proj, _ = project
    receive_one(settings, proj)
    dead_letter_after_backoff(database_url, store, attempts=1)
    letter_id = row(database_url)["id"]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SB_DATA_DIR", str(settings.data_dir))

    assert cli(["deadletters", "--json", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in listed] == [letter_id]

    assert cli(["deadletters", "inspect", str(letter_id)]) == 0
    shown = capsys.readouterr().out
    assert MESSAGE in shown
    assert "+14155550100" not in shown
    assert proj.twilio_auth_token not in shown

    assert cli(["deadletters", "replay", "--all"]) == 0
    assert "replayed 1" in capsys.readouterr().out
    assert cli(["deadletters", "replay", str(letter_id)]) == 1
    assert PostgresInboxWorker(store, NORMALIZERS).process_batch().outcomes == {"applied": 1}


class AppendFailsFor(PostgresEventStore):
    """The real store, except that appending events of one message breaks the transaction
    (as a failing trigger or constraint would)."""

    poisoned: Any = None

    def append(self, curs: Any, events: Any, heads: Any = None) -> None:
        if any(e.originator_id == self.poisoned for e in events):
            curs.execute("SELECT 1 / 0")
        super().append(curs, events, heads)


def test_a_row_that_breaks_the_whole_batch_fails_alone_and_the_others_are_applied(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    poison, fine = "SM" + "7" * 32, "SM" + "8" * 32
    sid = proj.twilio_account_sid

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            for message in (poison, fine):
                params = message_callback(sid, message, "sent")
                response = await apost_callback(
                    client, BASE_URL, proj.twilio_auth_token, params, PATH
                )
                assert response.status_code == 200

    asyncio.run(scenario())
    store = AppendFailsFor(database_url)
    store.poisoned = message_id(proj.id, poison)
    try:
        report = PostgresInboxWorker(store, NORMALIZERS, max_attempts=1).process_batch()
        assert report.outcomes == {"failed": 1, "applied": 1}
        assert store.aggregate(message_id(proj.id, fine)).status == "sent"
        assert store.aggregate(message_id(proj.id, poison)) is None
    finally:
        store.close()
    with psycopg.connect(database_url) as conn:
        statuses = conn.execute(
            "SELECT message_sid, processing_status, error FROM webhook_inbox ORDER BY id"
        ).fetchall()
    assert statuses[0][:2] == (poison, "dead")
    assert "division by zero" in statuses[0][2]
    assert statuses[1][:2] == (fine, "processed")


def test_dead_letters_page_newest_first_with_a_cursor(
    settings: Settings, project: tuple[Project, str], database_url: str, store: Any
) -> None:
    proj, admin_key = project
    sids = [f"SM{n:032x}" for n in range(3)]

    async def receive_three() -> None:
        async with serving(settings) as (client, _):
            for sid in sids:
                params = message_callback(proj.twilio_account_sid, sid, "sent")
                await apost_callback(client, BASE_URL, proj.twilio_auth_token, params, PATH)

    asyncio.run(receive_three())
    worker = PostgresInboxWorker(store, OUTDATED, max_attempts=1)
    assert worker.process_batch().outcomes == {"failed": 3}
    admin = {"Authorization": f"Bearer {admin_key}"}

    async def pages() -> list[list[str]]:
        async with serving(settings) as (client, _):
            first = (await client.get("/api/admin/dead-letters?limit=2", headers=admin)).json()
            second = (
                await client.get(
                    f"/api/admin/dead-letters?limit=2&cursor={first['next_cursor']}",
                    headers=admin,
                )
            ).json()
            assert second["next_cursor"] is None
            return [[d["message_sid"] for d in p["items"]] for p in (first, second)]

    assert asyncio.run(pages()) == [[sids[2], sids[1]], [sids[0]]]
