"""The webhook inbox, request side: one INSERT, durable before the provider gets its 2xx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

INBOX_CHANNEL = "sb_inbox"


@dataclass(frozen=True, slots=True)
class InboxEntry:
    project_id: str
    source: str
    event_type: str
    dedupe_key: str
    payload: dict[str, Any]
    trace_id: str
    call_sid: str | None = None
    recording_sid: str | None = None
    message_sid: str | None = None
    idempotency_token: str | None = None


_INSERT = (
    "WITH ins AS ("
    " INSERT INTO webhook_inbox (project_id, source, event_type, call_sid, recording_sid,"
    "  message_sid, dedupe_key, idempotency_token, payload, trace_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (project_id, dedupe_key) DO NOTHING RETURNING id)"
    f" SELECT id, pg_notify('{INBOX_CHANNEL}', '') FROM ins"
)


class PostgresInbox:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def add(self, e: InboxEntry) -> bool:
        """Store the entry unless its dedupe key is known; True when it is new."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _INSERT,
                (
                    e.project_id,
                    e.source,
                    e.event_type,
                    e.call_sid,
                    e.recording_sid,
                    e.message_sid,
                    e.dedupe_key,
                    e.idempotency_token,
                    Jsonb(e.payload),
                    e.trace_id,
                ),
                prepare=True,
            )
            return await cur.fetchone() is not None
