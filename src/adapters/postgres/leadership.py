"""One active runner per name across processes: a PostgreSQL advisory lock as the lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

log = logging.getLogger(__name__)


async def run_as_leader(
    database_url: str,
    name: str,
    body: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    retry_seconds: float = 2.0,
) -> None:
    """Run `body` only while this process holds the lock `name`; others wait as standbys.

    The lock lives on a dedicated connection, so it is released the moment the process or
    its connection dies, and a standby takes over within `retry_seconds`. If the connection
    is lost while leading, `body` is told to stop before anyone else can start.
    """
    while True:  # one attempt even when already stopping: a leader's last catch-up runs
        try:
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
                cur = await conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,))
                row = await cur.fetchone()
                if row and row[0]:
                    log.info("leading", extra={"role": name})
                    await _lead(conn, body, stop, retry_seconds)
        except Exception as exc:
            log.warning("leadership check failed", extra={"role": name, "error": str(exc)})
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=retry_seconds)


async def _lead(
    conn: psycopg.AsyncConnection[object],
    body: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    check_seconds: float,
) -> None:
    leading = asyncio.Event()  # set: stop leading (shutdown, or the lock's connection died)

    async def watch() -> None:
        try:
            while not stop.is_set():
                await conn.execute("SELECT 1")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=check_seconds)
        except Exception as exc:
            log.warning("lost the leadership connection", extra={"error": str(exc)})
        finally:
            leading.set()

    watcher = asyncio.create_task(watch())
    try:
        await body(leading)
    finally:
        leading.set()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
