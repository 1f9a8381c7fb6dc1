"""The webhook inbox, worker side: claim, decide and record in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.keyed import by_keys
from domain.call import call_id, handle_call_command
from domain.call_commands import CallCommand
from domain.commands import CommandResult, Outcome
from domain.message import message_id, record_message_status
from domain.message_commands import RecordMessageStatus

log = logging.getLogger(__name__)

Command = CallCommand | RecordMessageStatus
Normalizer = Callable[..., Command]
"""normalize(payload, *, operation_id, project_id, trace_id) -> command"""
Decide = Callable[[Any, Any], tuple[Any, CommandResult]]

# Latency buckets (ms) of worker_processing_latency_ms: receipt to the committed outcome.
LATENCY_BUCKETS_MS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1e3, 2.5e3, 5e3, 1e4, 3e4, 6e4)

_CLAIM = (
    "SELECT id, project_id::text AS project_id, event_type, dedupe_key, payload, trace_id,"
    " attempts FROM webhook_inbox"
    " WHERE processing_status = 'pending' AND next_attempt_at <= now()"
    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)


# By the whole primary key: operation ids are unique per project only.
_PRIOR_OUTCOMES = by_keys(
    "operations",
    ["r.project_id::text AS project_id", "operation_id", "outcome", "reason"],
    [("project_id", "uuid"), ("operation_id", "text")],
)
# One statement per batch each (rows as one JSON parameter), not one per row.
_RECORD_OPERATIONS = (
    "INSERT INTO operations (project_id, operation_id, aggregate_id, outcome, reason)"
    " SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(project_id uuid, operation_id text,"
    " aggregate_id uuid, outcome text, reason text)"
)
# Marks the rows processed and observes their latency (inbox → done) in one statement. The
# ids come twice: joined to their outcomes, and as an array the primary key finds them by
# (a join alone lets the planner scan the whole inbox; see adapters/postgres/keyed.py).
# Bucket counts live in PostgreSQL, updated in the batch's transaction: /metrics in any
# process reads the truth of every worker, and a rolled-back batch counts nothing.
_MARK_PROCESSED = (
    "WITH done AS (UPDATE webhook_inbox AS i SET processing_status = 'processed',"
    " outcome = r.outcome, outcome_reason = r.reason, attempts = i.attempts + 1,"
    " processed_at = now(), error = NULL"
    " FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, outcome text, reason text)"
    " WHERE i.id = r.id AND i.id = ANY(%s::bigint[])"
    " RETURNING 1000 * extract(epoch FROM clock_timestamp() - i.received_at)::float8 AS ms)"
    " INSERT INTO worker_latency_buckets AS b (le, observations, sum_ms)"
    " SELECT (SELECT min(le) FROM unnest(%s::float8[]) AS le WHERE d.ms <= le), count(*),"
    " sum(d.ms) FROM done AS d GROUP BY 1"
    " ON CONFLICT (le) DO UPDATE SET observations = b.observations + excluded.observations,"
    " sum_ms = b.sum_ms + excluded.sum_ms"
)
_RECORD_FAILURES = (
    "UPDATE webhook_inbox AS i SET attempts = i.attempts + 1, error = r.error,"
    " outcome = 'failed', outcome_reason = NULL,"
    " processing_status = CASE WHEN i.attempts + 1 >= %s THEN 'dead' ELSE 'pending' END,"
    " next_attempt_at = now() + make_interval(secs => least(%s, %s * 2 ^ i.attempts))"
    " FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, error text)"
    " WHERE i.id = r.id AND i.id = ANY(%s::bigint[])"
)
_json = msgspec.json.Encoder()


def target(cmd: Command) -> tuple[UUID, Decide]:
    """The aggregate a command addresses, and its handler."""
    if isinstance(cmd, RecordMessageStatus):
        return message_id(cmd.project_id, cmd.message_sid), record_message_status
    return call_id(cmd.project_id, cmd.call_sid), handle_call_command


@dataclass
class BatchReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class PostgresInboxWorker:
    """Turns inbox rows into commands and events.

    Everything commits together: the inbox rows' outcomes, the operation ids and the new
    events. A crash anywhere rolls all of it back and the rows are claimed again; a
    repeated operation id is reported as a duplicate with its first outcome.
    """

    def __init__(
        self,
        store: PostgresEventStore,
        normalizers: dict[str, Normalizer],
        *,
        max_attempts: int = 8,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = 300.0,
    ) -> None:
        """A failed row waits base * 2^attempts (at most max) before its next try; its
        `max_attempts`-th failure dead-letters it."""
        self.store = store
        self.normalizers = normalizers
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds

    def process_batch(self, limit: int = 500) -> BatchReport:
        """A failure of the whole batch (not of one row's decision) is retried row by row,
        so one row that breaks the transaction backs off alone instead of blocking all.
        IntegrityError (a concurrent writer won a version) propagates: retry the batch."""
        try:
            return self._process(limit)
        except IntegrityError:
            raise
        except Exception as exc:
            if limit > 1:
                log.warning("inbox batch failed; isolating its rows", extra={"error": str(exc)})
                return self._one_by_one(limit)
            return self._fail_first(f"{type(exc).__name__}: {exc}")

    def _one_by_one(self, limit: int) -> BatchReport:
        report = BatchReport()
        for _ in range(limit):
            one = self.process_batch(1)
            if not one.claimed:
                break
            report.claimed += one.claimed
            for outcome, n in one.outcomes.items():
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + n
        return report

    def _fail_first(self, error: str) -> BatchReport:
        """Record the failure on the row that broke a one-row batch, in a new transaction."""
        report = BatchReport()
        with self.store.connection() as conn, conn.transaction():
            cur = conn.cursor()
            rows = cur.execute(_CLAIM, (1,)).fetchall()
            report.claimed = len(rows)
            self._finish(cur, [], [(row, error) for row in rows], report)
        return report

    def _process(self, limit: int) -> BatchReport:
        """Four round trips, in one pipelined transaction: claim; the prior outcomes with
        the aggregates; the outcomes with the positions; the events with the COMMIT."""
        report = BatchReport()
        with self.store.connection() as conn, conn.pipeline(), conn.transaction():
            cur = conn.cursor()
            # A queue's statistics are always stale (rows flip to processed by the thousand),
            # and a backlog then gets a bitmap scan + on-disk sort of every pending row per
            # batch. The ordered index scan stops after `limit` rows: make it the only plan.
            cur.execute("SET LOCAL enable_sort = off")
            cur.execute("SET LOCAL enable_bitmapscan = off")
            rows = cur.execute(_CLAIM, (limit,)).fetchall()
            cur.execute("RESET enable_sort")
            cur.execute("RESET enable_bitmapscan")
            report.claimed = len(rows)
            if not rows:
                return report
            commands: list[tuple[dict[str, Any], Command]] = []
            failures: list[tuple[dict[str, Any], str]] = []
            for row in rows:
                try:
                    commands.append((row, self._normalize(row)))
                except Exception as exc:  # a poison row must not block the others
                    failures.append((row, f"{type(exc).__name__}: {exc}"))
            results, events, heads = self._handle(conn, commands, failures)
            self._finish(cur, results, failures, report)
            self.store.append(cur, events, heads)
        return report

    def _normalize(self, row: dict[str, Any]) -> Command:
        return self.normalizers[row["event_type"]](
            row["payload"],
            operation_id=f"webhook:{row['dedupe_key']}",
            project_id=row["project_id"],
            trace_id=row["trace_id"],
        )

    def _handle(
        self,
        conn: Any,
        commands: list[tuple[dict[str, Any], Command]],
        failures: list[tuple[dict[str, Any], str]],
    ) -> tuple[list[tuple[dict[str, Any], CommandResult, bool]], list[Any], dict[UUID, bytes]]:
        """Return (row, result, is_new) per command, the new events to append, and the
        heads of their chains. Every addressed aggregate is loaded, even one a repeated
        operation id does not need: the load then shares the round trip of that lookup."""
        prior_rows = conn.cursor().execute(
            _PRIOR_OUTCOMES,
            ([c.project_id for _, c in commands], [c.operation_id for _, c in commands]),
        )
        stream_rows = self.store.select_streams(conn.cursor(), {target(c)[0] for _, c in commands})
        prior = {
            (r["project_id"], r["operation_id"]): CommandResult(
                operation_id=r["operation_id"], outcome=Outcome(r["outcome"]), reason=r["reason"]
            )
            for r in prior_rows.fetchall()
        }
        streams = self.store.fold(stream_rows.fetchall())
        aggregates = streams.aggregates
        results: list[tuple[dict[str, Any], CommandResult, bool]] = []
        for row, cmd in commands:
            earlier = prior.get((cmd.project_id, cmd.operation_id))
            if earlier is not None:
                results.append((row, earlier, False))
                continue
            key, decide = target(cmd)
            try:
                aggregate, result = decide(aggregates.get(key), cmd)
            except Exception as exc:
                failures.append((row, f"{type(exc).__name__}: {exc}"))
                continue
            if aggregate is not None:
                aggregates[key] = aggregate
            results.append((row, result, True))
        return results, [e for a in aggregates.values() for e in a.collect_events()], streams.heads

    def _finish(
        self,
        cur: Any,
        results: list[tuple[dict[str, Any], CommandResult, bool]],
        failures: list[tuple[dict[str, Any], str]],
        report: BatchReport,
    ) -> None:
        new = [(row, res) for row, res, is_new in results if is_new]
        if new:
            cur.execute(
                _RECORD_OPERATIONS,
                (
                    _json.encode(
                        [
                            {
                                "project_id": row["project_id"],
                                "operation_id": r.operation_id,
                                "aggregate_id": r.aggregate_id,
                                "outcome": r.outcome.value,
                                "reason": r.reason,
                            }
                            for row, r in new
                        ]
                    ).decode(),
                ),
            )
        if results:
            cur.execute(
                _MARK_PROCESSED,
                (
                    _json.encode(
                        [
                            {
                                "id": row["id"],
                                "outcome": _outcome(res, is_new),
                                "reason": res.reason,
                            }
                            for row, res, is_new in results
                        ]
                    ).decode(),
                    [row["id"] for row, _, _ in results],
                    [*LATENCY_BUCKETS_MS, float("inf")],
                ),
            )
        for _, res, is_new in results:
            report.count(_outcome(res, is_new))
        if failures:
            cur.execute(
                _RECORD_FAILURES,
                (
                    self.max_attempts,
                    self.backoff_max_seconds,
                    self.backoff_base_seconds,
                    _json.encode(
                        [{"id": row["id"], "error": err[:500]} for row, err in failures]
                    ).decode(),
                    [row["id"] for row, _ in failures],
                ),
            )
            for row, err in failures:
                report.count("failed")
                log.warning(
                    "inbox row failed",
                    extra={"inbox_id": row["id"], "error": err[:200], "trace_id": row["trace_id"]},
                )


def _outcome(result: CommandResult, is_new: bool) -> str:
    return result.outcome.value if is_new else Outcome.DUPLICATE.value
