"""LISTEN on a channel and turn notifications into an asyncio wake-up."""

from __future__ import annotations

import asyncio
import logging

import psycopg

log = logging.getLogger(__name__)


async def listen(database_url: str, channel: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Sets `wake` on every NOTIFY; reconnects after errors. Pollers keep a timeout anyway."""
    while not stop.is_set():
        try:
            conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
            async with conn:
                await conn.execute(f'LISTEN "{channel}"')
                while not stop.is_set():
                    async for _ in conn.notifies(timeout=1.0, stop_after=1):
                        wake.set()
        except Exception as exc:
            log.warning(
                "listen failed; reconnecting", extra={"channel": channel, "error": str(exc)}
            )
            await asyncio.sleep(1.0)
