"""Fallback load generator: raw HTTP/1.1 keep-alive connections on an asyncio (uv)loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ops.bench.load import LoadResult, SignedRequest

try:
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
    LOOP_FACTORY = None


def encode(host: str, path: str, r: SignedRequest) -> bytes:
    body = r.body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {r.signature}\r\n"
        f"I-Twilio-Idempotency-Token: {r.idempotency_token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one Content-Length-framed response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


@dataclass
class _Run:
    payloads: list[bytes]
    deadline: float
    cursor: int = 0
    broken: int = 0  # connection errors: no response at all
    rejected: int = 0  # responses with a 4xx/5xx status
    latencies: list[float] = field(default_factory=list)

    def next_payload(self) -> bytes:
        payload = self.payloads[self.cursor % len(self.payloads)]
        self.cursor += 1
        return payload


async def _connection(host: str, port: int, run: _Run) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < run.deadline:
            started = time.perf_counter()
            writer.write(run.next_payload())
            try:
                status = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                run.broken += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            finished = time.perf_counter()
            if finished > run.deadline:
                break
            run.latencies.append(finished - started)
            if status >= 400:
                run.rejected += 1
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class AsyncioLoad:
    """Pure Python; it shares the 2 cores with the server, so treat its figures as a floor."""

    name = "python-asyncio"

    def describe(self, connections: int) -> str:
        loop = "uvloop" if LOOP_FACTORY else "asyncio"
        return f"built-in Python load generator ({loop}), {connections} keep-alive connections"

    def run(
        self, url: str, requests: Sequence[SignedRequest], *, seconds: int, connections: int
    ) -> LoadResult:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        payloads = [encode(parts.netloc, parts.path, r) for r in requests]

        async def main() -> _Run:
            run = _Run(payloads, deadline=time.perf_counter() + seconds)
            await asyncio.gather(*(_connection(host, port, run) for _ in range(connections)))
            return run

        with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
            run = runner.run(main())
        latencies = sorted(run.latencies)
        return LoadResult(
            requests=len(latencies) + run.broken,
            seconds=float(seconds),
            errors=run.rejected + run.broken,
            p50_ms=_percentile(latencies, 0.50) * 1000,
            p99_ms=_percentile(latencies, 0.99) * 1000,
        )
