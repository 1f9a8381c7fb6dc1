"""`switchboard audit verify` on real PostgreSQL: the trigger chains both append paths, and an
edited, deleted or reordered row is named by call and position; an untouched store passes."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from audit_support import LIFECYCLE, project_calls, receive, rows_of, run_cli, tamper

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import SCHEMAS_DIR, apply_migrations
from adapters.postgres.projects import Project
from domain.call import record_call_status
from domain.call_commands import RecordCallStatus
from domain.commands import Source
from domain.hash_chain import GENESIS, link


@pytest.fixture
def calls(database_url: str, project: tuple[Project, str]) -> Project:
    """Three calls through the real inbox worker (four callbacks each), projected."""
    for sid in ("CA01", "CA02", "CA03"):
        receive(database_url, project[0], sid, LIFECYCLE)
    project_calls(database_url)
    return project[0]


def verify(
    mp: pytest.MonkeyPatch, cap: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str]:
    return run_cli(mp, cap, url, "audit", "verify", *args)


def test_an_untouched_store_verifies_and_exits_zero(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = verify(monkeypatch, capsys, database_url)
    assert code == 0, out
    assert "every chain holds" in out
    code, out = verify(monkeypatch, capsys, database_url, "--call", "CA02")
    events = len(rows_of(database_url, "CA02"))
    assert code == 0, out
    assert f"verified {events} events of 1 aggregates: every chain holds" in out


def test_stored_hashes_are_the_python_chain_over_the_stored_bytes(
    database_url: str, calls: Project
) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, notification_id, topic, state, hash"
            " FROM eventlog_events ORDER BY originator_id, originator_version"
        ).fetchall()
    prev: dict[object, bytes] = {}
    for oid, version, position, topic, state, stored in rows:
        expected = link(prev.get(oid, GENESIS), oid, version, position, topic, bytes(state))
        assert bytes(stored) == expected
        prev[oid] = expected
    assert len(rows) == 21  # 3 calls: Created, 3 StatusObserved, Answered, Ended, +1 status


def test_the_librarys_own_save_path_is_chained_too(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = PostgresEventStore(database_url)
    try:
        call, _ = record_call_status(None, _status("ringing", 1))
        store.app.save(call)  # the recorder's own INSERT, not the worker's batched one
        call, _ = record_call_status(call, _status("in-progress", 1))
        store.app.save(call)
    finally:
        store.close()
    code, out = verify(monkeypatch, capsys, database_url)
    assert code == 0, out
    assert "verified 4 events of 1 aggregates: every chain holds" in out


def test_the_log_refuses_updates_and_deletes(database_url: str, calls: Project) -> None:
    for sql in ("UPDATE eventlog_events SET state = state", "DELETE FROM eventlog_events"):
        with (
            psycopg.connect(database_url) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
        ):
            conn.execute(sql)


def test_an_edited_event_is_named_by_call_and_position(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    version, position = rows_of(database_url, "CA02")[2]
    tamper(
        database_url,
        "UPDATE eventlog_events SET state = replace(convert_from(state, 'UTF8'),"
        " 'webhook', 'manual')::bytea WHERE notification_id = %s",
        position,
    )
    code, out = verify(monkeypatch, capsys, database_url)
    assert code == 1
    assert (
        f"call CA02 (project {calls.id}): version {version}, position {position}: hash mismatch"
        in out
    )
    assert "CA01" not in out
    assert "CA03" not in out
    code, out = verify(monkeypatch, capsys, database_url, "--json")
    report = json.loads(out[: out.rindex("}") + 1])
    assert (code, report["ok"]) == (1, False)
    assert [(b["subject"], b["version"], b["position"]) for b in report["breaks"]] == [
        ("call CA02", version, position)
    ]


def test_a_deleted_event_is_named_by_call_and_position(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = rows_of(database_url, "CA03")
    tamper(database_url, "DELETE FROM eventlog_events WHERE notification_id = %s", rows[1][1])
    code, out = verify(monkeypatch, capsys, database_url, "--project", calls.id)
    assert code == 1
    assert f"call CA03 (project {calls.id}): version {rows[1][0]}, position {rows[2][1]}" in out
    assert f"version {rows[1][0]} missing" in out


def test_reordered_events_are_named_by_call_and_position(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two events of a call swap their places in the global log."""
    (v1, p1), (_, p2) = rows_of(database_url, "CA01")[1:3]
    move = "UPDATE eventlog_events SET notification_id = %s WHERE notification_id = %s"
    tamper(database_url, move, -1, p1)
    tamper(database_url, move, p1, p2)
    tamper(database_url, move, p2, -1)
    code, out = verify(monkeypatch, capsys, database_url, "--call", "CA01")
    assert code == 1
    assert f"call CA01 (project {calls.id}): version {v1}, position {p2}" in out


def test_a_deleted_last_event_is_caught_by_the_calls_view(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A chain cannot see its own end cut off; the view that applied it can."""
    version, position = rows_of(database_url, "CA02")[-1]
    tamper(database_url, "DELETE FROM eventlog_events WHERE notification_id = %s", position)
    code, out = verify(monkeypatch, capsys, database_url)
    assert code == 1
    assert f"call CA02 (project {calls.id}): version {version}, position {position}" in out
    assert "the newest events were deleted" in out


def test_migration_chains_a_store_written_before_it(
    pg_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS t_audit_legacy")
        conn.execute("CREATE DATABASE t_audit_legacy")
    url = make_conninfo(**{**conninfo_to_dict(pg_server), "dbname": "t_audit_legacy"})
    before = tmp_path / "before"
    before.mkdir()
    for sql in sorted((SCHEMAS_DIR / "postgres").glob("*.sql")):
        if sql.name < "0008":
            (before / sql.name).write_text(sql.read_text())
    apply_migrations(url, before)
    store = PostgresEventStore(url)  # the library creates its table, unchained
    try:
        for n in range(3):
            call, _ = record_call_status(None, _status("ringing", n))
            store.app.save(call)
    finally:
        store.close()
    apply_migrations(url)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 0, out
    assert "verified 6 events of 3 aggregates: every chain holds" in out
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP DATABASE t_audit_legacy WITH (FORCE)")


_PROJECT = "0b5d3c1a-8e0b-4f1c-9a55-1f6f0e7c2b10"


def _status(status: str, n: int) -> RecordCallStatus:
    return RecordCallStatus(
        operation_id=f"op-{status}-{n}",
        project_id=_PROJECT,
        call_sid=f"CALIB{n}",
        status=status,
        trace_id="0" * 32,
        source=Source.API,
    )


def test_a_forged_hash_supplied_on_insert_is_found(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Writers may supply the hash (the batched append does); a wrong one is a break."""
    version, position = rows_of(database_url, "CA01")[-1]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO eventlog_events (originator_id, originator_version, topic, state, hash)"
            " SELECT originator_id, originator_version + 1, topic, state, %s FROM eventlog_events"
            " WHERE notification_id = %s",
            (bytes(32), position),
        )
    code, out = verify(monkeypatch, capsys, database_url, "--call", "CA01")
    assert code == 1
    assert f"call CA01 (project {calls.id}): version {version + 1}" in out
    assert "hash mismatch" in out


def test_an_event_without_a_predecessor_is_refused(database_url: str, calls: Project) -> None:
    _, position = rows_of(database_url, "CA01")[-1]
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(psycopg.errors.ForeignKeyViolation, match="no predecessor"),
    ):
        conn.execute(
            "INSERT INTO eventlog_events (originator_id, originator_version, topic, state)"
            " SELECT originator_id, originator_version + 5, topic, state FROM eventlog_events"
            " WHERE notification_id = %s",
            (position,),
        )


def test_a_deleted_tail_of_the_whole_log_is_caught_by_the_followers_positions(
    database_url: str,
    calls: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT max(notification_id) FROM eventlog_events").fetchone()
    assert row is not None
    tamper(database_url, "DELETE FROM eventlog_events WHERE notification_id = %s", row[0])
    code, out = verify(monkeypatch, capsys, database_url)
    assert code == 1
    assert f"the event log: position {row[0]}: the log ends at position {row[0] - 1}" in out
