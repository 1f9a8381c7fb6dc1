"""Reconcile bookkeeping in PostgreSQL: job cursors (`sync_state`) and drift counters
(`reconcile_drift`), so both survive restarts and are the same for every process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

DRIFT_LABELS = ("job", "kind")


def load_cursor(database_url: str, job_name: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT cursor FROM sync_state WHERE job_name = %s", (job_name,)
        ).fetchone()
    return dict(row[0]) if row else {}


def record_success(
    database_url: str,
    job_name: str,
    cursor: Mapping[str, Any],
    at: datetime,
    *,
    project_id: str,
    job: str,
    drift: Mapping[str, int],
) -> None:
    """Move the cursor and add the drift found, in one transaction."""
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO sync_state (job_name, cursor, last_success_at, updated_at)"
            " VALUES (%s, %s::jsonb, %s, now()) ON CONFLICT (job_name) DO UPDATE SET"
            " cursor = EXCLUDED.cursor, last_success_at = EXCLUDED.last_success_at,"
            " updated_at = now()",
            (job_name, json.dumps(cursor), at),
        )
        for kind, n in drift.items():
            if n:
                conn.execute(
                    "INSERT INTO reconcile_drift (project_id, job, kind, total)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (project_id, job, kind)"
                    " DO UPDATE SET total = reconcile_drift.total + EXCLUDED.total",
                    (project_id, job, kind, n),
                )


def record_error(database_url: str, job_name: str, error: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO sync_state (job_name, last_error_at, last_error, updated_at)"
            " VALUES (%s, now(), %s, now()) ON CONFLICT (job_name) DO UPDATE SET"
            " last_error_at = now(), last_error = EXCLUDED.last_error, updated_at = now()",
            (job_name, error[:500]),
        )


def drift_totals(database_url: str) -> dict[tuple[str, str], int]:
    """reconcile_drift_detected_total by (job, kind), all projects: for /metrics."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT job, kind, sum(total)::bigint FROM reconcile_drift GROUP BY job, kind"
        ).fetchall()
    return {(job, kind): int(total) for job, kind, total in rows}


def sync_states(database_url: str, prefix: str = "") -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM sync_state WHERE job_name LIKE %s ORDER BY job_name", (prefix + "%",)
        ).fetchall()


def last_runs(database_url: str) -> dict[str, tuple[datetime | None, datetime | None]]:
    """(last success, last error) of each job: what a scheduler needs after a restart."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT job_name, last_success_at, last_error_at FROM sync_state"
        ).fetchall()
    return {name: (ok, failed) for name, ok, failed in rows}
