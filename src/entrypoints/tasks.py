"""Background tasks end with a grace period: projections drain before anything is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def drain(tasks: Sequence[asyncio.Task[Any]], timeout: float = 8.0) -> None:
    """Wait for tasks that saw their stop event to finish (a projection's last catch-up),
    then cancel whatever is still running; never raise for their errors."""
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
