"""Polling helpers: wait for an eventually-consistent read model, with a clear failure."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], T | Awaitable[T]], accept: Callable[[T], bool], timeout: float = 20.0
) -> T:
    """Call `probe` (sync or async) until `accept` holds; fail with the last value seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if accept(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        if asyncio.get_running_loop().time() > deadline:
            msg = f"condition not met within {timeout}s; last value: {value!r}"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)
