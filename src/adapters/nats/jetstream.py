"""A lazily (re)connected JetStream context shared by the relay and the consumers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
from nats.js.api import StreamConfig

from adapters.nats.wire import STREAM, SUBJECTS

log = logging.getLogger(__name__)


class JetStream:
    """Connects on first use, not at start: NATS being down delays the fast path, it never
    stops the process (the store is the source; consumers catch up from it meanwhile)."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._nc: Any = None
        self._js: Any = None
        self._lock = asyncio.Lock()
        self.first_connect_timeout = 3.0
        self._closing = False

    async def _on_error(self, exc: Exception) -> None:
        log.debug("nats error", extra={"client": self.name, "error": str(exc)})

    async def _on_disconnect(self) -> None:
        if not self._closing:  # a clean close is not an outage
            log.warning("nats disconnected; reconnecting", extra={"client": self.name})

    async def _on_reconnect(self) -> None:
        log.info("nats reconnected", extra={"client": self.name})

    async def context(self) -> Any:
        if self._js is not None:
            return self._js
        async with self._lock:
            if self._js is None:
                # nats-py retries a failed first connect forever; bound it so callers can
                # fall back to the store and try again later.
                nc = await asyncio.wait_for(
                    nats.connect(
                        self.url,
                        name=self.name,
                        connect_timeout=2,
                        allow_reconnect=True,
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=0.5,
                        error_cb=self._on_error,
                        disconnected_cb=self._on_disconnect,
                        reconnected_cb=self._on_reconnect,
                    ),
                    timeout=self.first_connect_timeout,
                )
                js = nc.jetstream()
                await ensure_stream(js)
                self._nc, self._js = nc, js
        return self._js

    async def close(self) -> None:
        self._closing = True
        if self._nc is not None:
            await self._nc.close()
        self._nc = self._js = None


async def ensure_stream(js: Any) -> None:
    config = StreamConfig(
        name=STREAM,
        subjects=[SUBJECTS],
        duplicate_window=120.0,
        max_age=7 * 24 * 3600.0,
    )
    try:
        await js.add_stream(config)
    except Exception:
        await js.update_stream(config)
