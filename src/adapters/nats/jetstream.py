"""Connection and stream setup shared by the relay and the consumers."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.js.api import StreamConfig

from adapters.nats.wire import STREAM, SUBJECTS

log = logging.getLogger(__name__)


async def connect(url: str, name: str) -> Any:
    """Reconnects forever: NATS being down delays the fast path, never loses data."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        connect_timeout=2,
    )


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
