"""Runs one API command idempotently: the operation id, the aggregate and its new events
commit together, and a repeat reports the first outcome without deciding again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from adapters.postgres.event_store import PostgresEventStore
from domain.commands import CommandResult, Outcome

log = logging.getLogger(__name__)

Decide = Callable[[Any], tuple[Any, CommandResult]]


@dataclass(frozen=True, slots=True)
class Ran:
    result: CommandResult
    aggregate: Any
    replayed: bool  # True: the operation id was seen before; nothing was decided now


class PostgresCommandRunner:
    def __init__(self, store: PostgresEventStore, attempts: int = 5) -> None:
        self.store = store
        self.attempts = attempts

    def run(self, project_id: str, operation_id: str, aggregate_id: UUID, decide: Decide) -> Ran:
        """Domain errors raised by `decide` propagate and record nothing (a rejected command
        can be corrected and retried with the same id). Races on the same aggregate or the
        same operation id are retried; the loser then sees the winner's outcome."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(project_id, operation_id, aggregate_id, decide)
            except IntegrityError:
                if attempt == self.attempts:
                    raise
                log.info("command raced; retrying", extra={"operation_id": operation_id})
        raise AssertionError("unreachable")

    def _once(self, project_id: str, operation_id: str, aggregate_id: UUID, decide: Decide) -> Ran:
        with self.store.connection() as conn, conn.transaction():
            cur = conn.cursor()
            prior = cur.execute(
                "SELECT outcome, reason, aggregate_id FROM operations"
                " WHERE project_id = %s AND operation_id = %s",
                (project_id, operation_id),
            ).fetchone()
            streams = self.store.streams(cur, [aggregate_id])
            current = streams.aggregates.get(aggregate_id)
            if prior is not None:
                earlier = CommandResult(
                    operation_id=operation_id,
                    outcome=Outcome(prior["outcome"]),
                    reason=prior["reason"],
                    aggregate_id=str(prior["aggregate_id"]) if prior["aggregate_id"] else None,
                )
                return Ran(earlier, current, replayed=True)
            aggregate, result = decide(current)
            cur.execute(
                "INSERT INTO operations (project_id, operation_id, aggregate_id, outcome, reason)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    project_id,
                    operation_id,
                    result.aggregate_id,
                    result.outcome.value,
                    result.reason,
                ),
            )
            if aggregate is not None:
                self.store.append(cur, aggregate.collect_events(), streams.heads)
            return Ran(result, aggregate, replayed=False)
