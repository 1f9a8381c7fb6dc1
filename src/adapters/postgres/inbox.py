"""The webhook inbox, request side: durable before the provider gets its 2xx.

Concurrent requests share one multi-row INSERT and one commit (group commit): a request
joins the next batch and awaits that batch's commit, so "2xx means durable" holds while
the per-request cost of a round trip and an fsync is shared. Batches form on their own
while a flush is in flight; a lone request is flushed at once, without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import msgspec

log = logging.getLogger(__name__)
INBOX_CHANNEL = "sb_inbox"
_json = msgspec.json.Encoder()


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


# The batch travels as one JSON parameter (encoded by msgspec in C): far cheaper than
# adapting ten arrays value by value in Python.
_COLUMNS = (
    "project_id uuid, source text, event_type text, call_sid text, recording_sid text,"
    " message_sid text, dedupe_key text, idempotency_token text, payload jsonb, trace_id text"
)
_INSERT_MANY = (
    "WITH ins AS ("
    " INSERT INTO webhook_inbox (project_id, source, event_type, call_sid, recording_sid,"
    "  message_sid, dedupe_key, idempotency_token, payload, trace_id)"
    f" SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r({_COLUMNS})"
    " ON CONFLICT (project_id, dedupe_key) DO NOTHING RETURNING project_id::text, dedupe_key)"
    f" SELECT project_id, dedupe_key, pg_notify('{INBOX_CHANNEL}', '') FROM ins"
)

Pending = tuple[InboxEntry, "asyncio.Future[bool]"]


class PostgresInbox:
    def __init__(self, pool: Any, *, max_batch: int = 500, max_flushes: int = 2) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self.max_flushes = max_flushes
        self._pending: list[Pending] = []
        self._flushing = 0

    async def add(self, entry: InboxEntry) -> bool:
        """Store the entry unless its dedupe key is known; True when it is new."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        if self._flushing < self.max_flushes:
            self._flushing += 1
            asyncio.create_task(self._flush())  # noqa: RUF006 - futures hold the results
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._store(batch)
        finally:
            self._flushing -= 1

    async def _store(self, batch: list[Pending]) -> None:
        try:
            inserted = await self._insert([entry for entry, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch, exc)
                return
            log.warning(
                "inbox batch failed; storing its rows one by one",
                extra={"rows": len(batch), "error": str(exc)[:200]},
            )
            for one in batch:
                await self._store([one])
            return
        for entry, future in batch:
            key = (entry.project_id, entry.dedupe_key)
            new = key in inserted
            inserted.discard(key)  # a second copy in the same batch is a duplicate
            if not future.done():
                future.set_result(new)

    async def _insert(self, entries: list[InboxEntry]) -> set[tuple[str, str]]:
        batch = _json.encode(entries).decode()
        async with self.pool.connection() as conn:
            cur = await conn.execute(_INSERT_MANY, (batch,), prepare=True)
            rows = await cur.fetchall()
        return {(r["project_id"], r["dedupe_key"]) for r in rows}


def _settle(batch: list[Pending], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
