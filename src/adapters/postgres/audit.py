"""Audit over the event store: verify the hash chains, name what broke, read one call's chain.

The chains are recomputed in Python (domain/hash_chain.py) from the raw rows; the stored
hashes are only compared against. A chain cannot see its own last event deleted, so the
check also compares each call's head with the `calls` view and the log's head with the
positions the followers already applied (ADR 0010).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import tuple_row

from adapters.postgres.event_store import PostgresEventStore
from domain.call import call_id
from domain.hash_chain import Break, ChainRow, ChainVerifier, Head

Progress = Callable[[int, int], None]

_COLUMNS = "originator_id, originator_version, notification_id, coalesce(topic, ''), state, hash"
_FETCH = 20_000


class _Names(msgspec.Struct):
    """The fields of a stored event's state that say whose it is."""

    project_id: str | None = None
    call_sid: str | None = None
    message_sid: str | None = None
    campaign_key: str | None = None


_names = msgspec.json.Decoder(_Names)


def names_of(state: bytes) -> _Names:
    try:
        return _names.decode(state)
    except msgspec.DecodeError:
        return _Names()


@dataclass(frozen=True, slots=True)
class Finding:
    """A break, with the call (or other aggregate) it belongs to in words."""

    project_id: str | None
    subject: str  # "call CA…", "message SM…", "campaign spring", or the aggregate id
    version: int
    position: int | None
    reason: str
    originator_id: UUID | None = None

    def describe(self) -> str:
        where = [f"version {self.version}"] if self.version > 0 else []
        where += [f"position {self.position}"] if self.position is not None else []
        project = f" (project {self.project_id})" if self.project_id else ""
        return ": ".join(
            [f"{self.subject}{project}", *([", ".join(where)] if where else []), self.reason]
        )


@dataclass
class VerifyReport:
    events: int = 0
    aggregates: int = 0
    findings: list[Finding] = field(default_factory=list)
    heads: dict[UUID, Head] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings


def chain_rows(conn: psycopg.Connection[Any], ids: list[UUID] | None = None) -> Iterator[ChainRow]:
    """Every stored event (or those of `ids`), by aggregate then version, streamed."""
    where = "WHERE originator_id = ANY(%s)" if ids is not None else ""
    with conn.cursor("audit_chain", binary=True, row_factory=tuple_row) as cur:
        cur.itersize = _FETCH
        cur.execute(
            f"SELECT {_COLUMNS} FROM eventlog_events {where}"
            " ORDER BY originator_id, originator_version",
            (ids,) if ids is not None else None,
        )
        for oid, version, position, topic, state, digest in cur:
            yield ChainRow(oid, version, position, topic, bytes(state or b""), bytes(digest))


def in_project(rows: Iterator[ChainRow], project_id: str) -> Iterator[ChainRow]:
    """Only the aggregates whose first event names this project."""
    current: UUID | None = None
    keep = False
    for row in rows:
        if row.originator_id != current:
            current = row.originator_id
            keep = names_of(row.state).project_id == project_id
        if keep:
            yield row


def count_events(conn: psycopg.Connection[Any], ids: list[UUID] | None = None) -> int:
    if ids is None:
        row = conn.execute("SELECT count(*) FROM eventlog_events").fetchone()
    else:
        row = conn.execute(
            "SELECT count(*) FROM eventlog_events WHERE originator_id = ANY(%s)", (ids,)
        ).fetchone()
    return int(row[0]) if row else 0


def find_call_projects(conn: psycopg.Connection[Any], call_sid: str) -> list[str]:
    """Projects that know this call SID (from the calls view and the webhook inbox)."""
    rows = conn.execute(
        "SELECT project_id::text FROM calls WHERE call_sid = %s"
        " UNION SELECT project_id::text FROM webhook_inbox WHERE call_sid = %s",
        (call_sid, call_sid),
    ).fetchall()
    return sorted(r[0] for r in rows)


def verify_store(
    database_url: str,
    *,
    project_id: str | None = None,
    call_sid: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Recompute every chain in scope; add what the views know that the log no longer has."""
    report = VerifyReport()
    verifier = ChainVerifier()
    with psycopg.connect(database_url) as conn:
        ids = [call_id(project_id, call_sid)] if project_id and call_sid else None
        total = count_events(conn, ids)
        rows = chain_rows(conn, ids)
        if project_id and ids is None:
            rows = in_project(rows, project_id)
        for _ in verifier.feed(rows):
            if progress and verifier.events % 50_000 == 0:
                progress(verifier.events, total)
        if progress:
            progress(verifier.events, max(total, verifier.events))
        broken = {b.originator_id for b in verifier.breaks}
        report.events, report.heads = verifier.events, verifier.heads
        report.aggregates = len(verifier.heads) + len(broken)
        report.findings = name_breaks(conn, verifier.breaks)
        report.findings += _calls_ahead_of_log(conn, verifier.heads, broken, project_id, call_sid)
        if ids is None and project_id is None:
            report.findings += _followers_ahead_of_log(conn)
    return report


def name_breaks(conn: psycopg.Connection[Any], breaks: list[Break]) -> list[Finding]:
    """Give each break its project and call SID, read from any of the aggregate's events."""
    if not breaks:
        return []
    states: dict[UUID, _Names] = {}
    for oid, state in conn.execute(
        "SELECT originator_id, state FROM eventlog_events WHERE originator_id = ANY(%s)"
        " ORDER BY originator_version",
        ([b.originator_id for b in breaks],),
    ):
        n = names_of(bytes(state or b""))
        if n.project_id and oid not in states:
            states[oid] = n
    return [_finding(states.get(b.originator_id), b) for b in breaks]


def _finding(n: _Names | None, b: Break) -> Finding:
    subject = f"aggregate {b.originator_id}"
    if n and n.call_sid:
        subject = f"call {n.call_sid}"
    elif n and n.message_sid:
        subject = f"message {n.message_sid}"
    elif n and n.campaign_key:
        subject = f"campaign {n.campaign_key}"
    return Finding(
        n.project_id if n else None, subject, b.version, b.position, b.reason, b.originator_id
    )


def _calls_ahead_of_log(
    conn: psycopg.Connection[Any],
    heads: dict[UUID, Head],
    broken: set[UUID],
    project_id: str | None,
    call_sid: str | None,
) -> list[Finding]:
    """A call whose view saw a version the log no longer has lost its newest events."""
    rows = conn.execute(
        "SELECT project_id::text, call_sid, version, last_position FROM calls"
        " WHERE (%s::uuid IS NULL OR project_id = %s::uuid)"
        " AND (%s::text IS NULL OR call_sid = %s)",
        (project_id, project_id, call_sid, call_sid),
    ).fetchall()
    findings = []
    for pid, sid, version, last_position in rows:
        oid = call_id(pid, sid)
        head = heads.get(oid)
        stored = head.version if head else 0
        if oid in broken or stored >= version:
            continue
        lost = conn.execute(
            "SELECT min(position) FROM call_events WHERE project_id = %s AND call_sid = %s"
            " AND aggregate_version > %s",
            (pid, sid, stored),
        ).fetchone()
        findings.append(
            Finding(
                pid,
                f"call {sid}",
                stored + 1,
                lost[0] if lost and lost[0] is not None else last_position,
                f"the log ends at version {stored}, but the calls view applied version"
                f" {version} (position {last_position}): the newest events were deleted",
                oid,
            )
        )
    return findings


def _followers_ahead_of_log(conn: psycopg.Connection[Any]) -> list[Finding]:
    """The log's last position must not be behind any position a follower already applied."""
    row = conn.execute(
        "SELECT (SELECT coalesce(max(notification_id), 0) FROM eventlog_events),"
        " (SELECT name FROM stream_positions ORDER BY position DESC LIMIT 1),"
        " (SELECT coalesce(max(position), 0) FROM stream_positions)"
    ).fetchone()
    if not row or row[2] <= row[0]:
        return []
    head, name, applied = row
    return [
        Finding(
            None,
            "the event log",
            0,
            applied,
            f"the log ends at position {head}, but {name} has applied up to position"
            f" {applied}: the newest events were deleted",
        )
    ]


def call_export(store: PostgresEventStore, project_id: str, call_sid: str) -> list[dict[str, Any]]:
    """A call's full history as NDJSON records: a header, its events with positions and
    hashes, then the raw provider callbacks from the inbox. Empty for an unknown call.
    Phone numbers are left as stored: the caller masks them by role."""
    links = store.call_chain(project_id, call_sid)
    with store.connection() as conn:
        callbacks = conn.execute(
            "SELECT id, received_at, source, event_type, dedupe_key, processing_status, outcome,"
            " outcome_reason, attempts, trace_id, payload FROM webhook_inbox"
            " WHERE project_id = %s AND call_sid = %s ORDER BY id",
            (project_id, call_sid),
        ).fetchall()
    if not links and not callbacks:
        return []
    header = {
        "kind": "call",
        "project_id": project_id,
        "call_sid": call_sid,
        "events": len(links),
        "callbacks": len(callbacks),
        "head_hash": links[-1].hash.hex() if links else None,
    }
    events = [
        {
            "kind": "event",
            "position": link.position,
            "version": link.version,
            "type": type(link.event).__qualname__,
            "recorded_at": link.event.timestamp,
            "hash": link.hash.hex(),
            "prev_hash": link.prev_hash.hex(),
            "data": event_fields(link.event),
        }
        for link in links
    ]
    return [header, *events, *({"kind": "callback", **dict(c)} for c in callbacks)]


def event_fields(event: Any) -> dict[str, Any]:
    """What an event says, without the envelope the export shows separately."""
    return {
        k: v
        for k, v in vars(event).items()
        if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
    }
