"""Replaying, exporting and archiving call histories from the real store: replay as of a
time shows what the live monitor showed then; exports carry the chain and the raw callbacks,
mask phone numbers by role, and never cross projects; archives verify offline."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apiclient import serving
from audit_support import LIFECYCLE, project_calls, receive, run_cli

from adapters.postgres.projects import ROLES, Project, UnknownRole, create_project, issue_api_key
from domain.hash_chain import GENESIS
from entrypoints.settings import Settings


def monitor_row(database_url: str, sid: str) -> dict[str, Any]:
    """What the live monitor shows for a call: the SSE payload's snapshot of its last event."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT snapshot, aggregate_version FROM call_events WHERE call_sid = %s"
            " ORDER BY position DESC LIMIT 1",
            (sid,),
        ).fetchone()
    assert row is not None
    return {**row[0], "version": row[1]}


def comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def test_replay_as_of_a_time_between_callbacks_shows_what_the_monitor_showed(
    database_url: str,
    project: tuple[Project, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receive(database_url, project[0], "CA7", LIFECYCLE[:2])
    project_calls(database_url)
    shown_then = monitor_row(database_url, "CA7")
    between = datetime.now(UTC)
    time.sleep(0.05)
    receive(database_url, project[0], "CA7", LIFECYCLE[2:], first=2)
    project_calls(database_url)
    assert monitor_row(database_url, "CA7")["status"] == "completed"

    code, out = run_cli(
        monkeypatch,
        capsys,
        database_url,
        "audit",
        "replay",
        "CA7",
        "--as-of",
        between.isoformat(),
        "--json",
    )
    assert code == 0, out
    steps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    replayed = steps[-1]["state"]
    assert steps[-1]["version"] == shown_then["version"]
    shared = {k for k in replayed if k in shown_then and k != "version"}
    assert {"status", "answered_at", "last_sequence_number", "to_number"} <= shared
    assert {k: comparable(replayed[k]) for k in shared} == {
        k: comparable(shown_then[k]) for k in shared
    }
    assert replayed["status"] == "ringing"

    code, out = run_cli(monkeypatch, capsys, database_url, "audit", "replay", "CA7")
    lines = [line for line in out.splitlines() if line.startswith("v")]
    assert code == 0
    assert "status=completed" in lines[-1]
    assert len(lines) > len(steps)


def test_replay_before_the_first_event_and_of_an_unknown_call(
    database_url: str,
    project: tuple[Project, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receive(database_url, project[0], "CA8", LIFECYCLE[:1])
    code, out = run_cli(
        monkeypatch, capsys, database_url, "audit", "replay", "CA8", "--as-of", "2020-01-01"
    )
    assert code == 0
    assert "call CA8 had no events yet at 2020-01-01" in out
    code, out = run_cli(monkeypatch, capsys, database_url, "audit", "replay", "CA404")
    assert code == 2
    assert "no project knows call CA404" in out


@pytest.fixture
def other_project(database_url: str) -> tuple[Project, str]:
    return create_project(
        database_url, name="other", twilio_account_sid="AC" + "f" * 32, twilio_auth_token="t"
    )


def export(settings: Settings, key: str, sid: str) -> tuple[int, list[dict[str, Any]]]:
    async def go() -> tuple[int, list[dict[str, Any]]]:
        async with serving(settings) as (client, _):
            r = await client.get(
                f"/api/calls/{sid}/export", headers={"Authorization": f"Bearer {key}"}
            )
        lines = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
        return r.status_code, lines

    return asyncio.run(go())


def test_export_masks_phone_numbers_unless_auditor_or_admin(
    database_url: str, settings: Settings, project: tuple[Project, str]
) -> None:
    receive(database_url, project[0], "CA9", LIFECYCLE)
    seen: dict[str, str] = {}
    for role in ROLES:
        status, lines = export(settings, issue_api_key(database_url, project[0].id, role), "CA9")
        assert status == 200
        header, events = lines[0], [x for x in lines if x["kind"] == "event"]
        callbacks = [x for x in lines if x["kind"] == "callback"]
        assert (header["events"], header["callbacks"]) == (len(events), 4)
        assert [c["payload"]["CallStatus"] for c in callbacks] == LIFECYCLE
        created = events[0]["data"]
        seen[role] = callbacks[0]["payload"]["From"]
        if role in ("admin", "auditor"):
            assert created["to_number"] == callbacks[0]["payload"]["To"] == "+16505550199"
        else:
            assert created["to_number"] == callbacks[0]["payload"]["To"] == "+1650*****99"
            assert "+14155550100" not in json.dumps(lines)
    assert seen == {
        "admin": "+14155550100",
        "auditor": "+14155550100",
        "operator": "+1415*****00",
        "analyst": "+1415*****00",
        "viewer": "+1415*****00",
    }


def test_export_and_history_carry_the_chain_and_stay_in_their_project(
    database_url: str,
    settings: Settings,
    project: tuple[Project, str],
    other_project: tuple[Project, str],
) -> None:
    receive(database_url, project[0], "CA10", LIFECYCLE)
    project_calls(database_url)
    status, lines = export(settings, project[1], "CA10")
    events = [x for x in lines if x["kind"] == "event"]
    assert status == 200
    assert events[0]["prev_hash"] == GENESIS.hex()
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert lines[0]["head_hash"] == events[-1]["hash"]

    assert export(settings, other_project[1], "CA10") == (404, [])

    async def history(key: str) -> Any:
        async with serving(settings) as (client, _):
            return await client.get(
                "/api/calls/CA10/history", headers={"Authorization": f"Bearer {key}"}
            )

    r = asyncio.run(history(project[1]))
    body = r.json()
    assert body["head_hash"] == events[-1]["hash"]
    assert [(e["position"], e["version"], e["hash"]) for e in body["events"]] == [
        (e["position"], e["version"], e["hash"]) for e in events
    ]
    assert asyncio.run(history(other_project[1])).status_code == 404


def test_key_roles_are_a_fixed_set(database_url: str, project: tuple[Project, str]) -> None:
    with pytest.raises(UnknownRole, match="choose one of admin, operator"):
        issue_api_key(database_url, project[0].id, "superuser")
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE api_keys SET role = 'root'")


def test_projects_key_issues_a_key_with_a_role(
    database_url: str,
    project: tuple[Project, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["projects", "key", "--project-id", project[0].id, "--role", "auditor", "--json"]
    code, out = run_cli(monkeypatch, capsys, database_url, *argv)
    issued = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert (code, issued["role"]) == (0, "auditor")
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT role FROM api_keys WHERE key_prefix = %s", (issued["api_key"][:10],)
        ).fetchone()
    assert row == ("auditor",)


def test_an_archived_month_verifies_offline_and_tampering_is_named(
    database_url: str,
    project: tuple[Project, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for sid in ("CA11", "CA12"):
        receive(database_url, project[0], sid, LIFECYCLE)
    month = datetime.now(UTC).strftime("%Y-%m")
    out_file = tmp_path / "month.ndjson"
    code, out = run_cli(
        monkeypatch,
        capsys,
        database_url,
        "audit",
        "archive",
        "--month",
        month,
        "--out",
        str(out_file),
    )
    assert code == 0, out
    digest = out.split("heads digest ")[1].split()[0]

    monkeypatch.delenv("DATABASE_URL")  # offline: the file alone
    code, out = run_cli(
        monkeypatch, capsys, database_url, "audit", "verify", "--archive", str(out_file)
    )
    assert code == 0, out
    assert f"heads digest {digest}" in out

    lines = out_file.read_bytes().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if b"CA12" in line and b'"kind":"event"' in line)
    record = json.loads(lines[i])
    lines[i] = lines[i].replace(b"webhook", b"manual!", 1)
    out_file.write_bytes(b"".join(lines))
    code, out = run_cli(
        monkeypatch, capsys, database_url, "audit", "verify", "--archive", str(out_file)
    )
    assert code == 1
    assert f"call CA12 (project {project[0].id}): version {record['version']}," in out
    assert f"position {record['position']}" in out


def test_cli_export_writes_the_same_records_masked_on_request(
    database_url: str,
    project: tuple[Project, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receive(database_url, project[0], "CA13", LIFECYCLE)
    plain, masked = tmp_path / "plain.ndjson", tmp_path / "masked.ndjson"
    for path, extra in ((plain, []), (masked, ["--mask"])):
        code, out = run_cli(
            monkeypatch,
            capsys,
            database_url,
            "audit",
            "export",
            "CA13",
            "--out",
            str(path),
            *extra,
        )
        assert code == 0, out
    clear = [json.loads(x) for x in plain.read_text().splitlines()]
    hidden = [json.loads(x) for x in masked.read_text().splitlines()]
    assert [r["kind"] for r in clear] == [r["kind"] for r in hidden]
    assert clear[-1]["payload"]["From"] == "+14155550100"
    assert hidden[-1]["payload"]["From"] == "+1415*****00"
    assert [r.get("hash") for r in clear] == [r.get("hash") for r in hidden]
