"""PostgresCampaignsView: campaigns, their contacts and attempts, written with their position."""

from __future__ import annotations

from typing import Any

import msgspec

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
from domain.campaign import Campaign
from domain.campaign_rules import AttemptResult
from projections.campaigns_view import (
    COUNTERS,
    FINAL_STATUSES,
    AttemptRow,
    CampaignRow,
    CampaignsViewProjection,
    CampaignView,
    ContactRow,
)
from projections.positioned import PositionedEvent

_CAMPAIGN = columns(CampaignRow)
_CAMPAIGN_WRITTEN = columns(CampaignRow, skip=COUNTERS)
_CONTACT = columns(ContactRow)
_ATTEMPT = columns(AttemptRow)
_UPSERT_CAMPAIGN = upsert_sql("campaigns", _CAMPAIGN_WRITTEN, ("project_id", "campaign_id"))
_UPSERT_CONTACT = upsert_sql(
    "campaign_contacts", _CONTACT, ("project_id", "campaign_id", "contact_id")
)
# created_at is the partition key (0011): set once, so the upsert never moves a row.
_UPSERT_ATTEMPT = upsert_sql(
    "campaign_results", _ATTEMPT, ("project_id", "campaign_id", "attempt_id", "created_at")
)

_FINAL = ", ".join(f"'{s}'" for s in FINAL_STATUSES)
# The one definition of every counter: an aggregate over the contact or the attempt rows.
_CONTACT_COUNTS = {
    "contacts": "count(*)",
    "succeeded": "count(*) FILTER (WHERE succeeded)",
    "exhausted": "count(*) FILTER (WHERE exhausted)",
}
_ATTEMPT_COUNTS = {
    "attempts": "count(*)",
    "in_flight": f"count(*) FILTER (WHERE status NOT IN ({_FINAL}))",
    **{
        f"result_{r.value.replace('-', '_')}": f"count(*) FILTER (WHERE result = '{r.value}')"
        for r in AttemptResult
    },
}
assert sorted([*_CONTACT_COUNTS, *_ATTEMPT_COUNTS]) == sorted(COUNTERS)


def _counts(counts: dict[str, str]) -> str:
    return ", ".join(f"({expr})::int AS n_{name}" for name, expr in counts.items())


# Recount the campaigns in {scope}; only rows that differ are written, RETURNING names them.
_RECOUNT = f"""
WITH fresh AS (
    SELECT c.project_id, c.campaign_id, k.*, a.*
    FROM campaigns c
    CROSS JOIN LATERAL (SELECT {_counts(_CONTACT_COUNTS)} FROM campaign_contacts
        WHERE project_id = c.project_id AND campaign_id = c.campaign_id) k
    CROSS JOIN LATERAL (SELECT {_counts(_ATTEMPT_COUNTS)} FROM campaign_results
        WHERE project_id = c.project_id AND campaign_id = c.campaign_id) a
    WHERE {{scope}}
)
UPDATE campaigns c SET {", ".join(f"{n} = f.n_{n}" for n in COUNTERS)}
FROM fresh f
WHERE c.project_id = f.project_id AND c.campaign_id = f.campaign_id
  AND ({", ".join(f"c.{n}" for n in COUNTERS)})
      IS DISTINCT FROM ({", ".join(f"f.n_{n}" for n in COUNTERS)})
RETURNING c.campaign_id
"""
# Every pair of the two lists is recounted (a superset, and harmless): by the primary key,
# where `(…) IN (SELECT * FROM unnest…)` scanned the table (adapters/postgres/keyed.py).
_RECOUNT_TOUCHED = _RECOUNT.format(
    scope="c.project_id = ANY(%s::uuid[]) AND c.campaign_id = ANY(%s::uuid[])"
)
_LOAD_CAMPAIGNS = by_keys("campaigns", _CAMPAIGN, [("project_id", "uuid"), ("campaign_id", "uuid")])
_LOAD_ATTEMPTS = by_keys(
    "campaign_results",
    _ATTEMPT,
    [("project_id", "uuid"), ("campaign_id", "uuid"), ("attempt_id", "text")],
)
_LOAD_CONTACTS = by_keys(
    "campaign_contacts",
    _CONTACT,
    [("project_id", "uuid"), ("campaign_id", "uuid"), ("contact_id", "text")],
)
_ATTEMPT_EVENTS = (
    Campaign.AttemptStarted,
    Campaign.AttemptStatusChanged,
    Campaign.AttemptFinished,
)

Key = tuple[str, str]


class CampaignStats(msgspec.Struct, kw_only=True):
    """GET /campaigns/{id}/stats: the campaign with its counters and attempts per status."""

    campaign: CampaignRow
    attempts_by_status: dict[str, int]


class PostgresCampaignsView(PostgresView):
    """ProjectionSink for the campaign views, and their project-scoped reads.

    Counters stay exact because they are never incremented: each batch recomputes them with
    SQL aggregates over the contact and attempt rows, in the transaction that wrote those
    rows (under the position lock), so a replay, a rebuild or a crash cannot make them drift.
    `recount()` runs the same statement over every campaign and reports any drift it fixed.
    Listings are newest first, keyset-paginated by (created_at | scheduled_at, id).
    """

    projection = CampaignsViewProjection

    async def write(self, conn: Any, ours: list[PositionedEvent]) -> None:
        views = await self._load(conn, ours)
        for item in ours:
            key = CampaignsViewProjection.key(item.event)
            views[key] = CampaignsViewProjection.apply(views.get(key), item)
        await self._write(conn, list(views.values()))
        keys = list(views)
        await conn.execute(
            _RECOUNT_TOUCHED,
            ([k[0] for k in keys], [k[1] for k in keys]),
        )

    async def _load(self, conn: Any, items: list[PositionedEvent]) -> dict[Key, CampaignView]:
        keys = {CampaignsViewProjection.key(i.event) for i in items}
        cur = await conn.execute(
            _LOAD_CAMPAIGNS,
            ([k[0] for k in keys], [k[1] for k in keys]),
        )
        views = {
            (r.project_id, r.campaign_id): CampaignView(campaign=r)
            for r in (decode(CampaignRow, row) for row in await cur.fetchall())
        }
        named = [(*CampaignsViewProjection.key(i.event), i.event) for i in items]
        attempts = {(p, c, e.attempt_id) for p, c, e in named if isinstance(e, _ATTEMPT_EVENTS)}
        for a in await self._select(conn, AttemptRow, _LOAD_ATTEMPTS, attempts):
            views[(a.project_id, a.campaign_id)].attempts[a.attempt_id] = a
        contacts = {
            (p, c, e.contact_id) for p, c, e in named if isinstance(e, Campaign.AttemptScheduled)
        }
        contacts |= {
            (p, c, a.contact_id) for (p, c), v in views.items() for a in v.attempts.values()
        }
        for k in await self._select(conn, ContactRow, _LOAD_CONTACTS, contacts):
            views[(k.project_id, k.campaign_id)].contacts[k.contact_id] = k
        return views

    @staticmethod
    async def _select(
        conn: Any, struct: Any, sql: str, keys: set[tuple[str, str, str]]
    ) -> list[Any]:
        if not keys:
            return []
        cur = await conn.execute(sql, tuple(list(column) for column in zip(*keys, strict=True)))
        return [decode(struct, r) for r in await cur.fetchall()]

    async def _write(self, conn: Any, views: list[CampaignView]) -> None:
        await write_rows(conn, _UPSERT_CAMPAIGN, [v.campaign for v in views], _CAMPAIGN_WRITTEN)
        contacts = [c for v in views for c in v.contacts.values()]
        await write_rows(conn, _UPSERT_CONTACT, contacts, _CONTACT)
        attempts = [a for v in views for a in v.attempts.values()]
        await write_rows(conn, _UPSERT_ATTEMPT, attempts, _ATTEMPT)

    async def recount(self, project_id: str | None = None) -> int:
        """Recompute every campaign's counters from its rows; return how many had drifted."""
        scope, args = ("c.project_id = %s", (project_id,)) if project_id else ("true", ())
        async with self.pool.connection() as conn, conn.transaction():
            await claim_position(conn, self.name)
            cur = await conn.execute(_RECOUNT.format(scope=scope), args)
            return len(await cur.fetchall())

    async def campaign_stats(self, project_id: str, campaign_id: str) -> CampaignStats | None:
        """GET /campaigns/{id}/stats; None when the campaign is not in this project."""
        if not is_uuid(campaign_id):
            return None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(_CAMPAIGN)} FROM campaigns"
                " WHERE project_id = %s AND campaign_id = %s",
                (project_id, campaign_id),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "SELECT status, count(*)::int AS n FROM campaign_results"
                " WHERE campaign_id = %s AND project_id = %s GROUP BY status ORDER BY status",
                (campaign_id, project_id),
            )
            by_status = {r["status"]: r["n"] for r in await cur.fetchall()}
        return CampaignStats(campaign=decode(CampaignRow, row), attempts_by_status=by_status)

    async def list_campaigns(
        self, project_id: str, limit: int = 50, cursor: str | None = None
    ) -> Page[CampaignRow]:
        return await keyset_page(
            self.pool,
            f"SELECT {', '.join(_CAMPAIGN)} FROM campaigns",
            ["project_id = %s"],
            [project_id],
            ("created_at", "campaign_id"),
            lambda r: decode(CampaignRow, r),
            limit=limit,
            cursor=cursor,
        )

    async def list_attempts(
        self,
        project_id: str,
        campaign_id: str,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[AttemptRow]:
        """A campaign's attempts (campaign_results), latest scheduled first."""
        if not is_uuid(campaign_id):
            return Page()
        where = ["campaign_id = %s", "project_id = %s"]
        args: list[Any] = [campaign_id, project_id]
        if status is not None:
            where.append("status = %s")
            args.append(status)
        return await keyset_page(
            self.pool,
            f"SELECT {', '.join(_ATTEMPT)} FROM campaign_results",
            where,
            args,
            ("scheduled_at", "attempt_id"),
            lambda r: decode(AttemptRow, r),
            limit=limit,
            cursor=cursor,
        )
