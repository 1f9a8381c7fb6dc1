"""The webhook inbox, worker side: claim, decide and record in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from adapters.postgres.event_store import PostgresEventStore
from domain.call import Call, call_id, record_call_status
from domain.call_commands import RecordCallStatus
from domain.commands import CommandResult, Outcome

log = logging.getLogger(__name__)

Normalizer = Callable[..., RecordCallStatus]
"""normalize(payload, *, operation_id, project_id, trace_id) -> command"""

_CLAIM = (
    "SELECT id, project_id::text AS project_id, event_type, dedupe_key, payload, trace_id,"
    " attempts FROM webhook_inbox"
    " WHERE processing_status = 'pending' AND next_attempt_at <= now()"
    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)


# One statement per batch each (rows as one JSON parameter), not one per row.
_RECORD_OPERATIONS = (
    "INSERT INTO operations (project_id, operation_id, aggregate_id, outcome, reason)"
    " SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(project_id uuid, operation_id text,"
    " aggregate_id uuid, outcome text, reason text)"
)
_MARK_PROCESSED = (
    "UPDATE webhook_inbox AS i SET processing_status = 'processed', outcome = r.outcome,"
    " outcome_reason = r.reason, attempts = i.attempts + 1, processed_at = now(), error = NULL"
    " FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, outcome text, reason text)"
    " WHERE i.id = r.id"
)
_json = msgspec.json.Encoder()


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
    ) -> None:
        self.store = store
        self.normalizers = normalizers
        self.max_attempts = max_attempts

    def process_batch(self, limit: int = 500) -> BatchReport:
        report = BatchReport()
        with self.store.connection() as conn, conn.transaction():
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
            commands: list[tuple[dict[str, Any], RecordCallStatus]] = []
            failures: list[tuple[dict[str, Any], str]] = []
            for row in rows:
                try:
                    commands.append((row, self._normalize(row)))
                except Exception as exc:  # a poison row must not block the others
                    failures.append((row, f"{type(exc).__name__}: {exc}"))
            results, events = self._handle(cur, commands, failures)
            self._finish(cur, results, failures, report)
            self.store.append(cur, events)
        return report

    def _normalize(self, row: dict[str, Any]) -> RecordCallStatus:
        return self.normalizers[row["event_type"]](
            row["payload"],
            operation_id=f"webhook:{row['dedupe_key']}",
            project_id=row["project_id"],
            trace_id=row["trace_id"],
        )

    def _handle(
        self,
        cur: Any,
        commands: list[tuple[dict[str, Any], RecordCallStatus]],
        failures: list[tuple[dict[str, Any], str]],
    ) -> tuple[list[tuple[dict[str, Any], CommandResult, bool]], list[Any]]:
        """Return (row, result, is_new) per command, and the new events to append."""
        prior = {
            (r["project_id"], r["operation_id"]): CommandResult(
                operation_id=r["operation_id"], outcome=Outcome(r["outcome"]), reason=r["reason"]
            )
            for r in cur.execute(
                # By the whole primary key: operation ids are unique per project only.
                "SELECT project_id::text AS project_id, operation_id, outcome, reason"
                " FROM operations WHERE (project_id, operation_id) IN"
                " (SELECT * FROM unnest(%s::uuid[], %s::text[]))",
                ([c.project_id for _, c in commands], [c.operation_id for _, c in commands]),
            )
        }
        todo = [(r, c) for r, c in commands if (c.project_id, c.operation_id) not in prior]
        calls: dict[UUID, Call] = self.store.load(
            cur, {call_id(c.project_id, c.call_sid) for _, c in todo}
        )
        results: list[tuple[dict[str, Any], CommandResult, bool]] = []
        for row, cmd in commands:
            earlier = prior.get((cmd.project_id, cmd.operation_id))
            if earlier is not None:
                results.append((row, earlier, False))
                continue
            key = call_id(cmd.project_id, cmd.call_sid)
            try:
                calls[key], result = record_call_status(calls.get(key), cmd)
            except Exception as exc:
                failures.append((row, f"{type(exc).__name__}: {exc}"))
                continue
            results.append((row, result, True))
        return results, [e for call in calls.values() for e in call.collect_events()]

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
                ),
            )
        for _, res, is_new in results:
            report.count(_outcome(res, is_new))
        if failures:
            cur.executemany(
                "UPDATE webhook_inbox SET attempts = attempts + 1, error = %s,"
                " processing_status = CASE WHEN attempts + 1 >= %s THEN 'dead' ELSE 'pending' END,"
                " next_attempt_at = now() + make_interval(secs => least(300, 2 ^ attempts))"
                " WHERE id = %s",
                [(err[:500], self.max_attempts, row["id"]) for row, err in failures],
            )
            for row, err in failures:
                report.count("failed")
                log.warning(
                    "inbox row failed",
                    extra={"inbox_id": row["id"], "error": err[:200], "trace_id": row["trace_id"]},
                )


def _outcome(result: CommandResult, is_new: bool) -> str:
    return result.outcome.value if is_new else Outcome.DUPLICATE.value
