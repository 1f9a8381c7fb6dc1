"""How far behind the event store each follower is, and how much the inbox holds: measured,
not estimated, so an operator can trust it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

LAG_DEGRADED = 1_000  # events behind the store
PENDING_AGE_DEGRADED_S = 60.0


@dataclass(frozen=True, slots=True)
class Follower:
    name: str
    position: int
    lag: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SyncHealth:
    status: str  # ok | degraded
    store_head: int
    followers: list[Follower]
    inbox_pending: int
    inbox_dead: int
    oldest_pending_age_s: float | None
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_QUERY = """
SELECT
  (SELECT coalesce(max(notification_id), 0) FROM {events}) AS head,
  (SELECT count(*) FROM webhook_inbox WHERE processing_status = 'pending') AS pending,
  (SELECT count(*) FROM webhook_inbox WHERE processing_status = 'dead') AS dead,
  (SELECT extract(epoch FROM now() - min(received_at)) FROM webhook_inbox
    WHERE processing_status = 'pending') AS oldest
"""


def sync_health(database_url: str, events_table: str = "eventlog_events") -> SyncHealth:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        totals = conn.execute(_QUERY.format(events=events_table)).fetchone()
        rows = conn.execute(
            "SELECT name, position, updated_at FROM stream_positions"
            " WHERE name NOT LIKE '%%:rebuild' ORDER BY name"
        ).fetchall()
    assert totals is not None
    head = int(totals["head"])
    followers = [
        Follower(r["name"], int(r["position"]), max(0, head - int(r["position"])), r["updated_at"])
        for r in rows
    ]
    oldest = float(totals["oldest"]) if totals["oldest"] is not None else None
    problems = [f"{f.name} is {f.lag} events behind" for f in followers if f.lag > LAG_DEGRADED]
    if oldest is not None and oldest > PENDING_AGE_DEGRADED_S:
        problems.append(f"the oldest pending webhook waits for {oldest:.0f} s")
    if totals["dead"]:
        problems.append(f"{totals['dead']} webhooks are dead-lettered")
    return SyncHealth(
        "degraded" if problems else "ok",
        head,
        followers,
        int(totals["pending"]),
        int(totals["dead"]),
        oldest,
        problems,
    )
