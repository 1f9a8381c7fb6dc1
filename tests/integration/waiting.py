"""Polling helpers: wait for an eventually-consistent read model, with a clear failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], timeout: float = 20.0
) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    value = await probe()
    while not accept(value):
        if asyncio.get_running_loop().time() > deadline:
            msg = f"condition not met within {timeout}s; last value: {value!r}"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)
        value = await probe()
    return value
