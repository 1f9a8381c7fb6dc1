"""Connection settings and pools, from one DATABASE_URL."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

# jsonb in and out through msgspec rather than the stdlib json module, for every connection
# of the process: the SSE hub decodes two jsonb columns per event it reads, and stdlib
# json was a twentieth of the API process's CPU at 500 webhooks/s.
set_json_loads(msgspec.json.decode)
set_json_dumps(msgspec.json.encode)


def libpq_params(database_url: str) -> dict[str, Any]:
    return {k: v for k, v in conninfo_to_dict(database_url).items() if v is not None}


def eventsourcing_env(database_url: str, pool_size: int = 2) -> dict[str, str]:
    """The eventsourcing library is configured by env-style keys; derive them from the URL."""
    p = libpq_params(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(p.get("dbname", "postgres")),
        "POSTGRES_HOST": str(p.get("host", "localhost")),
        "POSTGRES_PORT": str(p.get("port", "5432")),
        "POSTGRES_USER": str(p.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(p.get("password", "")),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONN_MAX_AGE": "600",
    }


async def open_async_pool(database_url: str, *, min_size: int = 2, max_size: int = 10) -> Any:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool
