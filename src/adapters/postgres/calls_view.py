"""PostgresCallsView: the `calls` and `call_events` views, written with their position."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.postgres.keyed import by_keys
from adapters.postgres.paging import Page, keyset_page
from adapters.postgres.view_support import PostgresView, columns, upsert_sql, write_rows
from projections.calls_view import ACTIVE_STATUSES, CallRow, CallsViewProjection, FeedRow
from projections.positioned import PositionedEvent

FEED_CHANNEL = "sb_feed"

_CALL = columns(CallRow)
_UPSERT_CALL = upsert_sql("calls", _CALL, ("project_id", "call_sid"))
_FEED = columns(FeedRow)
_INSERT_FEED = upsert_sql("call_events", _FEED, ("position", "recorded_at"), update=())
_LOAD_CALLS = by_keys("calls", ["r.*"], [("project_id", "uuid"), ("call_sid", "text")])


def _decode_call(row: dict[str, Any]) -> CallRow:
    fields: dict[str, Any] = {**row, "project_id": str(row["project_id"])}
    return CallRow(**fields)


class PostgresCallsView(PostgresView):
    """ProjectionSink for the operational views, and their read queries."""

    projection = CallsViewProjection

    async def write(self, conn: Any, ours: list[PositionedEvent]) -> None:
        calls = await self._load(conn, ours)
        feed: list[FeedRow] = []
        for item in ours:
            key = (item.event.project_id, item.event.call_sid)
            calls[key], feed_row = CallsViewProjection.apply(calls.get(key), item)
            feed.append(feed_row)
        await write_rows(conn, _UPSERT_CALL, calls.values(), _CALL)
        await write_rows(conn, _INSERT_FEED, feed, _FEED)
        await conn.execute(f"NOTIFY {FEED_CHANNEL}")  # delivered on commit: the hub reads then

    async def _load(
        self, conn: Any, items: Sequence[PositionedEvent]
    ) -> dict[tuple[str, str], CallRow]:
        keys = {(i.event.project_id, i.event.call_sid) for i in items}
        cur = await conn.execute(_LOAD_CALLS, ([k[0] for k in keys], [k[1] for k in keys]))
        return {
            (str(r["project_id"]), r["call_sid"]): _decode_call(r) for r in await cur.fetchall()
        }

    async def get_call(self, project_id: str, call_sid: str) -> CallRow | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM calls WHERE project_id = %s AND call_sid = %s",
                (project_id, call_sid),
            )
            row = await cur.fetchone()
        return _decode_call(row) if row else None

    async def active_calls(self, project_id: str, limit: int = 500) -> list[CallRow]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM calls WHERE project_id = %s AND status = ANY(%s)"
                " ORDER BY started_at DESC LIMIT %s",
                (project_id, list(ACTIVE_STATUSES), limit),
            )
            rows = await cur.fetchall()
        return [_decode_call(r) for r in rows]

    async def list_calls(
        self,
        project_id: str,
        *,
        status: str | None = None,
        direction: str | None = None,
        campaign_id: str | None = None,
        number: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[CallRow]:
        """Newest first by (started_at, call_sid); `number` matches either party."""
        where = ["project_id = %s"]
        args: list[Any] = [project_id]
        for clause, value in (
            ("status = %s", status),
            ("direction = %s", direction),
            ("campaign_id = %s", campaign_id),
            ("started_at >= %s", started_from),
            ("started_at < %s", started_to),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        if number is not None:
            where.append("(from_number = %s OR to_number = %s)")
            args += [number, number]
        return await keyset_page(
            self.pool,
            "SELECT * FROM calls",
            where,
            args,
            ("started_at", "call_sid"),
            _decode_call,
            limit=limit,
            cursor=cursor,
        )

    async def call_feed(
        self, project_id: str, call_sid: str, *, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """One call's events in log order, optionally only those recorded by `until`."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT position, event_type, event_time, recorded_at, source, status,"
                " operation_id, payload FROM call_events WHERE project_id = %s AND"
                " call_sid = %s AND (%s::timestamptz IS NULL OR recorded_at <= %s)"
                " ORDER BY position",
                (project_id, call_sid, until, until),
            )
            return list(await cur.fetchall())

    async def feed(
        self, after: int, limit: int, project_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Feed rows after a position, for one project or (for the hub) all of them."""
        where = "position > %s" + (" AND project_id = %s" if project_id else "")
        params: tuple[Any, ...] = (after, project_id, limit) if project_id else (after, limit)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT position, project_id::text AS project_id, call_sid, event_type,"
                f" event_time, recorded_at, payload, snapshot FROM call_events WHERE {where}"
                " ORDER BY position LIMIT %s",
                params,
            )
            return list(await cur.fetchall())
