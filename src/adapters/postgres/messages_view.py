"""PostgresMessagesView: `messages`, `message_deliveries`, `message_errors`, with their position."""

from __future__ import annotations

from typing import Any

from adapters.postgres.keyed import by_keys
from adapters.postgres.paging import Page, keyset_page
from adapters.postgres.view_support import (
    PostgresView,
    columns,
    decode,
    upsert_sql,
    write_rows,
)
from projections.messages_view import (
    DeliveryRow,
    ErrorRow,
    MessageRow,
    MessagesViewProjection,
    MessageView,
)
from projections.positioned import PositionedEvent

_MESSAGE = columns(MessageRow)
_DELIVERY = columns(DeliveryRow)
_ERROR = columns(ErrorRow)
_UPSERT_MESSAGE = upsert_sql("messages", _MESSAGE, ("project_id", "message_sid"))
# recorded_at is the partition key (0011): set once, so the upsert never moves a row.
_UPSERT_DELIVERY = upsert_sql(
    "message_deliveries", _DELIVERY, ("project_id", "message_sid", "status", "recorded_at")
)
_UPSERT_ERROR = upsert_sql("message_errors", _ERROR, ("project_id", "message_sid", "error_code"))
_KEY = [("project_id", "uuid"), ("message_sid", "text")]
_LOAD_MESSAGES = by_keys("messages", _MESSAGE, _KEY)
_LOAD_DELIVERIES = by_keys("message_deliveries", _DELIVERY, _KEY)
_LOAD_ERRORS = by_keys("message_errors", _ERROR, _KEY)

Key = tuple[str, str]


class PostgresMessagesView(PostgresView):
    """ProjectionSink for the message views, and their project-scoped reads.

    Listings are newest first, keyset-paginated by (created_at, message_sid): the cursor is
    the last row's pair, so pages neither skip nor repeat rows while messages arrive.
    """

    projection = MessagesViewProjection

    async def write(self, conn: Any, ours: list[PositionedEvent]) -> None:
        views = await self._load(conn, {MessagesViewProjection.key(i.event) for i in ours})
        for item in ours:
            key = MessagesViewProjection.key(item.event)
            views[key] = MessagesViewProjection.apply(views.get(key), item)
        await self._write(conn, list(views.values()))

    async def _load(self, conn: Any, keys: set[Key]) -> dict[Key, MessageView]:
        args = ([k[0] for k in keys], [k[1] for k in keys])
        cur = await conn.execute(_LOAD_MESSAGES, args)
        views = {
            (r.project_id, r.message_sid): MessageView(row=r)
            for r in (decode(MessageRow, row) for row in await cur.fetchall())
        }
        cur = await conn.execute(_LOAD_DELIVERIES, args)
        for row in await cur.fetchall():
            d = decode(DeliveryRow, row)
            views[(d.project_id, d.message_sid)].deliveries[d.status] = d
        cur = await conn.execute(_LOAD_ERRORS, args)
        for row in await cur.fetchall():
            e = decode(ErrorRow, row)
            views[(e.project_id, e.message_sid)].errors[e.error_code] = e
        return views

    async def _write(self, conn: Any, views: list[MessageView]) -> None:
        await write_rows(conn, _UPSERT_MESSAGE, [v.row for v in views], _MESSAGE)
        deliveries = [d for v in views for d in v.deliveries.values()]
        await write_rows(conn, _UPSERT_DELIVERY, deliveries, _DELIVERY)
        await write_rows(conn, _UPSERT_ERROR, [e for v in views for e in v.errors.values()], _ERROR)

    async def get_message(self, project_id: str, message_sid: str) -> MessageRow | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(_MESSAGE)} FROM messages"
                " WHERE project_id = %s AND message_sid = %s",
                (project_id, message_sid),
            )
            row = await cur.fetchone()
        return decode(MessageRow, row) if row else None

    async def list_messages(
        self,
        project_id: str,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[MessageRow]:
        """A project's messages, newest first, optionally of one status (seed 000's index)."""
        where = ["project_id = %s"]
        args: list[Any] = [project_id]
        if status is not None:
            where.append("status = %s")
            args.append(status)
        return await keyset_page(
            self.pool,
            f"SELECT {', '.join(_MESSAGE)} FROM messages",
            where,
            args,
            ("created_at", "message_sid"),
            lambda r: decode(MessageRow, r),
            limit=limit,
            cursor=cursor,
        )

    async def deliveries(self, project_id: str, message_sid: str) -> list[DeliveryRow]:
        """The statuses a message reached, in the order they were first recorded."""
        return await self._children(DeliveryRow, "message_deliveries", project_id, message_sid)

    async def errors(self, project_id: str, message_sid: str) -> list[ErrorRow]:
        return await self._children(ErrorRow, "message_errors", project_id, message_sid)

    async def _children(
        self, struct: Any, table: str, project_id: str, message_sid: str
    ) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(columns(struct))} FROM {table}"
                " WHERE project_id = %s AND message_sid = %s"
                " ORDER BY recorded_at, last_position",
                (project_id, message_sid),
            )
            return [decode(struct, r) for r in await cur.fetchall()]
