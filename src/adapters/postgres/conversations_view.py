"""PostgresConversationsView: contacts, conversations and their items, with their position."""

from __future__ import annotations

from typing import Any

from adapters.postgres.keyed import by_keys
from adapters.postgres.paging import Page, keyset_page
from adapters.postgres.view_support import (
    PostgresView,
    claim_position,
    columns,
    decode,
    is_uuid,
    upsert_sql,
    write_rows,
)
from projections.conversations_view import (
    ContactRow,
    ConversationRow,
    ConversationsViewProjection,
    ItemRow,
)
from projections.positioned import PositionedEvent

_ITEM = columns(ItemRow)
_CONTACT = columns(ContactRow)
_CONVERSATION = columns(ConversationRow)
_RECOUNTED = ("total_calls", "total_messages", "first_activity_at", "last_activity_at")
_CONVERSATION_WRITTEN = columns(ConversationRow, skip=_RECOUNTED)
_UPSERT_ITEM = upsert_sql("conversation_items", _ITEM, ("project_id", "kind", "sid"))
_INSERT_CONTACT = upsert_sql("contacts", _CONTACT, ("project_id", "contact_id"), update=())
_UPSERT_CONVERSATION = upsert_sql(
    "conversations",
    _CONVERSATION_WRITTEN,
    ("project_id", "conversation_id"),
    update=("updated_at", "last_position"),
)
# The one definition of the counters: aggregates over the conversation's items, for the
# conversations in {scope}. Only rows that differ are written; RETURNING names them.
_RECOUNT = f"""
WITH fresh AS (
    SELECT c.project_id, c.conversation_id, i.*
    FROM conversations c
    CROSS JOIN LATERAL (
        SELECT (count(*) FILTER (WHERE kind = 'call'))::int AS n_calls,
               (count(*) FILTER (WHERE kind = 'message'))::int AS n_messages,
               min(occurred_at) AS first_at,
               max(occurred_at) AS last_at
        FROM conversation_items
        WHERE project_id = c.project_id AND conversation_id = c.conversation_id) i
    WHERE {{scope}}
)
UPDATE conversations c
SET total_calls = f.n_calls, total_messages = f.n_messages,
    first_activity_at = f.first_at, last_activity_at = f.last_at
FROM fresh f
WHERE c.project_id = f.project_id AND c.conversation_id = f.conversation_id
  AND ({", ".join(f"c.{n}" for n in _RECOUNTED)})
      IS DISTINCT FROM (f.n_calls, f.n_messages, f.first_at, f.last_at)
RETURNING c.conversation_id
"""
# Every pair of the two lists is recounted (a superset, and harmless): by the primary key,
# where `(…) IN (SELECT * FROM unnest…)` scanned the table (adapters/postgres/keyed.py).
_RECOUNT_TOUCHED = _RECOUNT.format(
    scope="c.project_id = ANY(%s::uuid[]) AND c.conversation_id = ANY(%s::uuid[])"
)
_LOAD_ITEMS = by_keys(
    "conversation_items", _ITEM, [("project_id", "uuid"), ("kind", "text"), ("sid", "text")]
)

Key = tuple[str, str, str]


class PostgresConversationsView(PostgresView):
    """ProjectionSink for seed 003's conversation API, and its project-scoped reads.

    Counters never drift because they are never incremented: every batch recomputes
    total_calls, total_messages and the activity times of the conversations it touched with
    SQL aggregates over `conversation_items`, in the same transaction that wrote the items
    (under the position lock). `recount()` runs that statement over every conversation (the
    seed's periodic rebuild) and reports how many had drifted, which should always be 0.
    Listings are newest first, keyset-paginated: conversations by (last_activity_at, id),
    items by (occurred_at, kind, sid).
    """

    projection = ConversationsViewProjection

    async def write(self, conn: Any, ours: list[PositionedEvent]) -> None:
        rows = await self._load(conn, {ConversationsViewProjection.key(i.event) for i in ours})
        for item in ours:
            key = ConversationsViewProjection.key(item.event)
            rows[key] = ConversationsViewProjection.apply(rows.get(key), item)
        await self._write(conn, list(rows.values()))

    async def _load(self, conn: Any, keys: set[Key]) -> dict[Key, ItemRow]:
        cur = await conn.execute(
            _LOAD_ITEMS,
            tuple(list(column) for column in zip(*keys, strict=True)),
        )
        rows = [decode(ItemRow, r) for r in await cur.fetchall()]
        return {(r.project_id, r.kind, r.sid): r for r in rows}

    async def _write(self, conn: Any, rows: list[ItemRow]) -> None:
        await write_rows(conn, _UPSERT_ITEM, rows, _ITEM)
        contacts: dict[str, ContactRow] = {}
        conversations: dict[str, ConversationRow] = {}
        # Each row is inserted once, by the batch holding its first item (the lowest position
        # of all, so rows do not depend on batch sizes), and touched by its latest event.
        for row in sorted(rows, key=lambda r: r.first_position):
            found = ConversationsViewProjection.conversation_of(row)
            if found is None:
                continue
            contact, conversation = found
            contacts.setdefault(contact.contact_id, contact)
            known = conversations.setdefault(conversation.conversation_id, conversation)
            if row.last_position > known.last_position:
                known.updated_at, known.last_position = row.updated_at, row.last_position
        await write_rows(conn, _INSERT_CONTACT, contacts.values(), _CONTACT)
        touched = list(conversations.values())
        await write_rows(conn, _UPSERT_CONVERSATION, touched, _CONVERSATION_WRITTEN)
        if touched:
            await conn.execute(
                _RECOUNT_TOUCHED,
                ([c.project_id for c in touched], [c.conversation_id for c in touched]),
            )

    async def recount(self, project_id: str | None = None) -> int:
        """Recompute every conversation's counters from its items; return how many drifted."""
        scope, args = ("c.project_id = %s", (project_id,)) if project_id else ("true", ())
        async with self.pool.connection() as conn, conn.transaction():
            await claim_position(conn, self.name)
            cur = await conn.execute(_RECOUNT.format(scope=scope), args)
            return len(await cur.fetchall())

    async def list_conversations(
        self, project_id: str, limit: int = 50, cursor: str | None = None
    ) -> Page[ConversationRow]:
        """GET /api/conversations: most recent activity first, with the recounted totals."""
        return await keyset_page(
            self.pool,
            f"SELECT {', '.join(_CONVERSATION)} FROM conversations",
            ["project_id = %s", "last_activity_at IS NOT NULL"],
            [project_id],
            ("last_activity_at", "conversation_id"),
            lambda r: decode(ConversationRow, r),
            limit=limit,
            cursor=cursor,
        )

    async def get_conversation(
        self, project_id: str, conversation_id: str
    ) -> ConversationRow | None:
        if not is_uuid(conversation_id):
            return None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(_CONVERSATION)} FROM conversations"
                " WHERE project_id = %s AND conversation_id = %s",
                (project_id, conversation_id),
            )
            row = await cur.fetchone()
        return decode(ConversationRow, row) if row else None

    async def conversation_items(
        self,
        project_id: str,
        conversation_id: str,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ItemRow]:
        """GET /api/conversations/:id/messages: the calls and messages, newest first."""
        if not is_uuid(conversation_id):
            return Page()
        return await keyset_page(
            self.pool,
            f"SELECT {', '.join(_ITEM)} FROM conversation_items",
            ["project_id = %s", "conversation_id = %s"],
            [project_id, conversation_id],
            ("occurred_at", "kind", "sid"),
            lambda r: decode(ItemRow, r),
            limit=limit,
            cursor=cursor,
        )
