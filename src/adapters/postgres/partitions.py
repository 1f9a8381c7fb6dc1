"""Monthly partitions: create them ahead of time, and drop those past the retention horizon."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
# Partitioned tables (migrations 0004, 0011) -> the column their months are ranges of.
PARTITIONED = {
    "call_events": "recorded_at",
    "message_deliveries": "recorded_at",
    "campaign_results": "created_at",
}
# Retention drops only months nothing else is derived from: campaign counters are recounted
# from campaign_results, so its old months stay (partitioned still: cheap to archive whole).
RETAINED_WHOLE = frozenset({"campaign_results"})


def month_start(day: date, offset: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Maintenance:
    created: list[str]
    dropped: list[str]


def maintain_partitions(
    database_url: str,
    *,
    months_ahead: int = 3,
    retention_months: int = 0,
    today: date | None = None,
) -> Maintenance:
    """Ensure partitions from the retention horizon (or this month) to `months_ahead`;
    drop whole months older than `retention_months` (0 keeps everything). Idempotent."""
    today = today or datetime.now(UTC).date()
    first = month_start(today, -retention_months if retention_months else 0)
    created: list[str] = []
    dropped: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Every process does this at start: without taking turns, two that start together
        # both see a month missing and the second CREATE fails, killing its process.
        conn.execute("SELECT pg_advisory_lock(hashtext('partition upkeep'))")  # until closed
        for table in PARTITIONED:
            for offset in range(_months_between(first, today) + months_ahead + 1):
                start = month_start(first, offset)
                name = f"{table}_{start:%Y_%m}"
                if _exists(conn, name):
                    continue
                conn.execute(
                    sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                        sql.Identifier(name),
                        sql.Identifier(table),
                        sql.Literal(datetime(start.year, start.month, 1, tzinfo=UTC)),
                        sql.Literal(_next_month(start)),
                    )
                )
                created.append(name)
            if retention_months and table not in RETAINED_WHOLE:
                dropped += _drop_older(conn, table, month_start(today, -retention_months))
    if created or dropped:
        log.info(
            "partitions maintained",
            extra={"partitions_created": created, "partitions_dropped": dropped},
        )
    return Maintenance(created, dropped)


def _next_month(start: date) -> datetime:
    nxt = month_start(start, 1)
    return datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def _drop_older(conn: psycopg.Connection[Any], table: str, horizon: date) -> list[str]:
    dropped = []
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
        (table,),
    ).fetchall()
    for (name,) in rows:
        suffix = str(name).removeprefix(f"{table}_")
        try:
            month = datetime.strptime(suffix, "%Y_%m").date()
        except ValueError:
            continue  # the default partition
        if month < horizon:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(str(name))))
            dropped.append(str(name))
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(
            sql.Identifier(f"{table}_default"), sql.Identifier(PARTITIONED[table])
        ),
        (datetime(horizon.year, horizon.month, 1, tzinfo=UTC),),
    )
    return dropped
