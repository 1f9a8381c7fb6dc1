"""Applies schemas/postgres/*.sql in order, once each, under an advisory lock."""

from __future__ import annotations

from pathlib import Path

import psycopg

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
_LOCK_KEY = 0x5B_0001


def apply_migrations(database_url: str, directory: Path = SCHEMAS_DIR / "postgres") -> list[str]:
    """Return the names applied by this call; safe to run from many processes at once."""
    files = sorted(directory.glob("*.sql"))
    if not files:
        msg = f"no migrations found in {directory}"
        raise FileNotFoundError(msg)
    applied: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for path in files:
                if path.name in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text().encode())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied.append(path.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied
