"""Audit: replay of a 200-event call, verify of 1,000,000 events, and the chain's cost on the
append path, each next to a baseline measured in the same run."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import psycopg

from adapters.postgres.audit import chain_rows, verify_store
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.projects import create_project
from domain.call import record_call_status
from domain.call_commands import RecordCallStatus
from domain.call_timeline import timeline
from ops.bench.context import BenchContext
from ops.bench.event_store import drain, fill_inbox, own_database
from ops.bench.report import Table

TITLE = "Audit: replay, verify, and the hash chain on the append path"
COLUMNS = ["What", "Figure", "Same-run baseline", "Target", "Met"]
REPLAY_EVENTS = 200
REPLAY_TARGET_MS = 20.0
REPLAY_RUNS = 50
VERIFY_EVENTS = 1_000_000
EVENTS_PER_CALL = 5
APPEND_TARGET = 5_000  # commands per second (issue 3)
APPEND_ROUNDS = 3
PROJECT = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

# A realistic StatusObserved state (~330 bytes), different for every event.
_STATE = (
    "convert_to(json_build_object('timestamp', json_build_object('_type_', 'datetime_iso',"
    " '_data_', now() + make_interval(secs => v)), 'project_id', %s::text, 'call_sid',"
    " 'CA' || a.n, 'operation_id', 'webhook:' || a.n || ':' || v, 'trace_id',"
    " '0af7651916cd43dd8448eb211c80319c', 'status', 'ringing', 'provider_event_time',"
    " json_build_object('_type_', 'datetime_iso', '_data_', '2026-10-01T09:00:00+00:00'),"
    " 'sequence_number', v, 'source', 'webhook')::text, 'UTF8')"
)


def call_of(events: int) -> list[object]:
    """One call with `events` events: a status, then repeated callbacks recorded as ignored."""

    def status(n: int) -> RecordCallStatus:
        return RecordCallStatus(
            operation_id=f"op-{n}",
            project_id=PROJECT,
            call_sid="CABENCH",
            status="ringing",
            sequence_number=1,
        )

    call, _ = record_call_status(None, status(0))
    n = 0
    while call.version < events:
        n += 1
        call, _ = record_call_status(call, status(n))
    return list(call.collect_events())


def bench_replay(url: str) -> tuple[float, float, float]:
    """(median ms, p95 ms) of `audit replay`'s work, and the median ms of a raw SELECT."""
    store = PostgresEventStore(url)
    try:
        events = call_of(REPLAY_EVENTS)
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), events)
        replays, raws = [], []
        for _ in range(REPLAY_RUNS):
            started = time.perf_counter()
            chain = store.call_chain(PROJECT, "CABENCH")
            steps = timeline([link.event for link in chain])
            replays.append((time.perf_counter() - started) * 1000)
            assert len(steps) == REPLAY_EVENTS
            started = time.perf_counter()
            with store.connection() as conn:
                rows = conn.execute(
                    "SELECT originator_id, originator_version, notification_id, topic, state, hash"
                    f" FROM {store.table} WHERE originator_id = %s ORDER BY originator_version",
                    (events[0].originator_id,),  # type: ignore[attr-defined]
                ).fetchall()
            raws.append((time.perf_counter() - started) * 1000)
            assert len(rows) == REPLAY_EVENTS
    finally:
        store.close()
    p95 = statistics.quantiles(replays, n=20)[-1]
    return statistics.median(replays), p95, statistics.median(raws)


def fill_for_verify(url: str) -> float:
    """VERIFY_EVENTS events through the chain trigger, in chunks; returns seconds taken."""
    calls = VERIFY_EVENTS // EVENTS_PER_CALL
    chunk = 20_000
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for first in range(0, calls, chunk):
            conn.execute(
                "INSERT INTO eventlog_events (originator_id, originator_version, topic, state)"
                f" SELECT a.id, v, 'domain.call:Call.StatusObserved', {_STATE}"
                " FROM (SELECT gen_random_uuid() AS id, n"
                "  FROM generate_series(%s::int, %s::int) n) a,"
                " generate_series(1, %s::int) v ORDER BY a.id, v",
                (PROJECT, first, min(first + chunk, calls) - 1, EVENTS_PER_CALL),
            )
        conn.execute("VACUUM ANALYZE eventlog_events")
    return time.perf_counter() - started


def bench_verify(url: str) -> tuple[float, float]:
    """(seconds to verify every chain, seconds to stream the same rows without hashing)."""
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        raw = sum(1 for _ in chain_rows(conn))
    raw_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = verify_store(url)
    seconds = time.perf_counter() - started
    assert report.ok, report.findings[:3]
    assert report.events == raw == VERIFY_EVENTS + REPLAY_EVENTS  # and the replayed call
    return seconds, raw_seconds


class UnchainedStore(PostgresEventStore):
    """The append path as it was before the chain (no positions taken, no hashes): the
    same-run baseline. Its database has the trigger disabled and `hash` nullable."""

    def append(
        self, curs: Any, events: Sequence[Any], heads: Mapping[UUID, bytes] | None = None
    ) -> None:
        if not events:
            return
        stored = [self.mapper.to_stored_event(e) for e in events]
        self.recorder._lock_table(curs)
        self.recorder._notify_channel(curs)
        curs.execute(
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])",
            (
                [s.originator_id for s in stored],
                [s.originator_version for s in stored],
                [s.topic for s in stored],
                [s.state for s in stored],
            ),
            binary=True,
        )


def bench_append(server_url: str) -> tuple[float, float]:
    """Inbox worker commands/s with the chain and without it, the same callbacks, alternated
    over APPEND_ROUNDS rounds (best of each, as the CPU is shared)."""
    best = {True: 0.0, False: 0.0}
    for n in range(APPEND_ROUNDS):
        for chained in (True, False):
            url = own_database(server_url, f"bench_audit_append_{int(chained)}")
            sid = "AC" + uuid.uuid4().hex
            project, _ = create_project(
                url, name="bench", twilio_account_sid=sid, twilio_auth_token="t"
            )
            if not chained:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        "ALTER TABLE eventlog_events DISABLE TRIGGER eventlog_events_chain"
                    )
                    conn.execute("ALTER TABLE eventlog_events ALTER COLUMN hash DROP NOT NULL")
            fill_inbox(url, project.id, sid)
            store = (PostgresEventStore if chained else UnchainedStore)(url, pool_size=2)
            commands, seconds = drain(url, store)
            rate = commands / seconds
            print(f"    round {n + 1}: {'chained' if chained else 'unchained'} {rate:,.0f}/s")
            best[chained] = max(best[chained], rate)
    return best[True], best[False]


def run(ctx: BenchContext) -> Table:
    print(f"{TITLE}:", flush=True)
    print("  inbox worker with and without the chain trigger", flush=True)
    chained, unchained = bench_append(ctx.database_url)
    print(f"    {chained:,.0f} commands/s chained, {unchained:,.0f} unchained", flush=True)
    url = own_database(ctx.database_url, "bench_audit")
    print(f"  replay of a {REPLAY_EVENTS}-event call, {REPLAY_RUNS} times", flush=True)
    median, p95, raw_ms = bench_replay(url)
    print(f"    median {median:.1f} ms, p95 {p95:.1f} ms; raw SELECT {raw_ms:.1f} ms", flush=True)
    print(f"  writing {VERIFY_EVENTS:,} events through the chain trigger", flush=True)
    fill_seconds = fill_for_verify(url)
    print(f"  verifying {VERIFY_EVENTS:,} events", flush=True)
    seconds, raw_seconds = bench_verify(url)
    return Table(
        TITLE,
        COLUMNS,
        [
            [
                f"`audit replay` of a {REPLAY_EVENTS}-event call (median; p95)",
                f"{median:.1f} ms; {p95:.1f} ms",
                f"raw SELECT of its rows: {raw_ms:.1f} ms",
                f"≤ {REPLAY_TARGET_MS:.0f} ms",
                "yes" if median <= REPLAY_TARGET_MS else "NO",
            ],
            [
                f"`audit verify` of {VERIFY_EVENTS:,} events",
                f"{VERIFY_EVENTS / seconds:,.0f} events/s ({seconds:.1f} s)",
                f"same rows streamed, no hashing: {VERIFY_EVENTS / raw_seconds:,.0f} events/s",
                "events/s (reported)",
                "",
            ],
            [
                "Inbox worker, events hash-chained",
                f"{chained:,.0f} commands/s",
                f"unchained (before): {unchained:,.0f} commands/s",
                f"≥ {APPEND_TARGET:,} commands/s",
                "yes" if chained >= APPEND_TARGET else "NO",
            ],
            [
                f"Chained INSERT … SELECT of {VERIFY_EVENTS:,} events (bench setup)",
                f"{VERIFY_EVENTS / fill_seconds:,.0f} events/s",
                "",
                "",
                "",
            ],
        ],
        [
            f"Replay is what `switchboard audit replay` does before printing: read the call's"
            f" rows with positions and hashes, decode them, and fold them into the state after"
            f" each event ({REPLAY_RUNS} runs). The baseline is the bare SELECT of those rows.",
            "Verify recomputes every chain in Python (sha256 over the stored bytes,"
            f" {EVENTS_PER_CALL} events per aggregate, ~330-byte states) through one"
            " server-side cursor ordered by aggregate and version, then compares each call's"
            " head with the calls view. The"
            " baseline streams the same rows through the same cursor without hashing.",
            "The append rows run the event_store benchmark's workload (one worker draining the"
            f" same simulated callbacks), alternating {APPEND_ROUNDS} times, best of each: the"
            " shipped append (positions taken under the lock, hashes computed in Python), and"
            " the append as it was before the chain (trigger disabled, no hashes).",
        ],
    )
