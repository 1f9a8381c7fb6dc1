"""Dead-lettered webhooks: rows the worker gave up on after N attempts. Listed, inspected
and replayed (back to pending, attempts reset) by an operator once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.postgres.inbox import INBOX_CHANNEL
from adapters.postgres.paging import Page, keyset_page


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    project_id: str
    event_type: str
    dedupe_key: str
    call_sid: str | None
    recording_sid: str | None
    message_sid: str | None
    attempts: int
    error: str | None
    received_at: datetime
    replays: int
    trace_id: str


@dataclass(frozen=True, slots=True)
class DeadLetterDetail:
    """One dead letter with its raw payload and idempotency token: mask before showing."""

    letter: DeadLetter
    payload: dict[str, Any]
    idempotency_token: str | None


_FIELDS = (
    "id, project_id::text AS project_id, event_type, dedupe_key, call_sid, recording_sid,"
    " message_sid, attempts, error, received_at, replays, trace_id"
)
_REPLAY = (
    "WITH replayed AS (UPDATE webhook_inbox SET processing_status = 'pending', attempts = 0,"
    " next_attempt_at = now(), outcome = NULL, replays = replays + 1, replayed_at = now()"
    " WHERE processing_status = 'dead' AND {where} RETURNING id)"
    f" SELECT (SELECT count(*) FROM replayed) AS n, pg_notify('{INBOX_CHANNEL}', '')"
)


class PostgresDeadLetters:
    """`project_id=None` means every project: for the operator's CLI, never for the API."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def list(
        self, project_id: str | None, *, limit: int = 50, cursor: str | None = None
    ) -> Page[DeadLetter]:
        where, args = _scope(project_id)
        return await keyset_page(
            self.pool,
            f"SELECT {_FIELDS} FROM webhook_inbox",
            ["processing_status = 'dead'", *where],
            args,
            ("received_at", "id"),
            lambda r: DeadLetter(**r),
            limit=limit,
            cursor=cursor,
        )

    async def get(self, project_id: str | None, letter_id: int) -> DeadLetterDetail | None:
        where, args = _scope(project_id)
        where = ["processing_status = 'dead'", "id = %s", *where]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_FIELDS}, payload, idempotency_token FROM webhook_inbox"
                f" WHERE {' AND '.join(where)}",
                (letter_id, *args),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        payload, token = row.pop("payload"), row.pop("idempotency_token")
        return DeadLetterDetail(DeadLetter(**row), payload, token)

    async def replay(self, project_id: str | None, letter_id: int | None = None) -> int:
        """Back to pending (one, or all when `letter_id` is None); return how many moved.
        Workers wake at once; a repeat of an already-applied operation stays a no-op."""
        where, args = _scope(project_id)
        if letter_id is not None:
            where, args = [*where, "id = %s"], [*args, letter_id]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _REPLAY.format(where=" AND ".join(where) or "true"), tuple(args)
            )
            row = await cur.fetchone()
        return int(row["n"]) if row else 0


def _scope(project_id: str | None) -> tuple[list[str], list[Any]]:
    return (["project_id = %s"], [project_id]) if project_id else ([], [])
