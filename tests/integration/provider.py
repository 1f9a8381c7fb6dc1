"""The provider simulator in a background thread (its own event loop), serving Twilio's
REST API on a free loopback port, for tests that drive it with the synchronous SDK."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

from twilio.rest import Client

from adapters.twilio.rest_client import provider_client
from adapters.twilio.simulator import ProviderSimulator

NOWHERE = "http://127.0.0.1:9/webhooks/twilio/voice-status"  # refused: callbacks fail fast


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_provider(sim: ProviderSimulator, calls: int, rate: float = 500.0) -> Iterator[str]:
    """Serve `sim` and play `calls` scenarios (if any) to the end; yield the REST base URL."""
    port = free_port()
    ready = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        server = sim.rest_server("127.0.0.1", port)
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.01)
            if calls:
                await sim.run(calls, rate)
        except BaseException as exc:
            failure.append(exc)
        finally:
            ready.set()
        await stop.wait()
        server.should_exit = True
        await serving

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def sdk(sim: ProviderSimulator, base_url: str, token: str | None = None) -> Client:
    return provider_client(sim.account_sid, token or sim.auth_token, base_url)
