"""Webhook-to-SSE latency through the whole pipeline (API -> inbox -> worker -> store ->
calls view -> realtime hub -> SSE) at a sustained signed-webhook rate, and how many
concurrent SSE clients the hub holds with p95 <= 250 ms."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
import psycopg

from adapters.embedded.nats import EmbeddedNats
from adapters.postgres.projects import create_project
from adapters.postgres.sync_health import sync_health
from entrypoints.workers.layout import UP_COMPONENTS
from ops.bench.context import BenchContext
from ops.bench.cpu import CpuMeter, named, speed_check
from ops.bench.event_store import own_database
from ops.bench.load import SignedRequest
from ops.bench.pyload import LOOP_FACTORY, encode, read_response
from ops.bench.report import Table
from ops.bench.servers import REPO_ROOT, free_port, served
from ops.bench.webhooks import signed_requests

TITLE = "Webhook to SSE latency, and concurrent SSE clients"
RATE = 500  # signed webhooks/s the target is set at (`--realtime-rate`), open loop (paced)
TARGET_P95_MS, TARGET_P99_MS = 100.0, 250.0
CLIENTS_P95_MS = 250.0
RAMP_RATE = 50  # webhooks per second while clients are ramped: fan-out is rate x clients
RAMP_STEP_SECONDS = 10
RAMP_CLIENTS = (1, 50, 100, 200, 400, 800, 1600, 3200)
WEBHOOK_PATH = "/webhooks/twilio/voice-status"
PRIME_TRIES, PRIME_RATE = 15, 20
DRAIN_SECONDS = 180  # after the load, for the inbox and the projections to catch up
LATE_SECONDS = 30  # after the drain, for the last deliveries; what is missing then is lost
SENDERS = 32  # keep-alive connections the webhooks are spread over
COLUMNS = ["Measurement", "Webhooks/s sent", "SSE clients", "Webhooks", "Deliveries", "Lost"]
COLUMNS += ["Resumed"]
COLUMNS += ["p50 ms", "p95 ms", "p99 ms", "Drain s", "Target", "Met"]


class _Entity(msgspec.Struct):
    id: str


class _Payload(msgspec.Struct):
    sequence_number: int | None = None


class _Envelope(msgspec.Struct):
    entity: _Entity
    payload: _Payload


_decode = msgspec.json.Decoder(_Envelope).decode
_ID = re.compile(rb"(?m)^id: (\d+)")
_DATA = re.compile(rb"(?m)^data: (.*)$")


@dataclass
class Tracker:
    """When each webhook was sent, which position its event got, when clients read it."""

    sent: dict[tuple[str, int], float] = field(default_factory=dict)
    position_of: dict[int, tuple[str, int]] = field(default_factory=dict)
    seen: list[tuple[int, float]] = field(default_factory=list)  # (position, read at)
    errors: int = 0
    resumes: int = 0  # streams the hub cut (a client too far behind) and the client resumed
    next_request: int = 0  # requests before this index were sent or skipped: never resend

    def samples(self, since: float) -> list[tuple[float, float]]:
        """(sent at, latency ms) of each read of a webhook sent at or after `since`."""
        out = []
        for position, at in self.seen:
            key = self.position_of.get(position)
            sent = self.sent.get(key) if key else None
            if sent is not None and sent >= since:
                out.append((sent, (at - sent) * 1000))
        return out

    def latencies_ms(self, since: float) -> list[float]:
        return sorted(ms for _, ms in self.samples(since))


def drift(step: Step, width: float = 10.0) -> list[tuple[float, float, float]]:
    """(seconds into the measured window, p50, p95) of the webhooks sent in each `width`
    seconds: whether latency held steady or climbed through the run."""
    windows: dict[int, list[float]] = {}
    for sent, ms in step.tracker.samples(step.measured_from):
        windows.setdefault(int((sent - step.measured_from) // width), []).append(ms)
    return [
        (n * width, percentile(sorted(v), 0.5), percentile(sorted(v), 0.95))
        for n, v in sorted(windows.items())
    ]


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def key_of(request: SignedRequest) -> tuple[str, int]:
    fields = dict(parse_qsl(request.body))
    return fields["CallSid"], int(fields["SequenceNumber"])


async def send_paced(
    url: str, requests: list[SignedRequest], rate: int, tracker: Tracker, stop: asyncio.Event
) -> int:
    """Request i leaves at start + i / rate (open loop), over SENDERS connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payloads = [encode(parts.netloc, parts.path, r) for r in requests]
    keys = [key_of(r) for r in requests]
    start = time.perf_counter()
    sent = 0

    async def connection(j: int) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in range(j, len(payloads), SENDERS):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if stop.is_set():
                    return
                tracker.sent[keys[i]] = time.perf_counter()
                tracker.next_request = max(tracker.next_request, i + 1)
                writer.write(payloads[i])
                sent += 1  # counted when written: it may be stored even if cut off now
                if await read_response(reader) != 200:
                    tracker.errors += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection(j)) for j in range(SENDERS)]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent


async def sse_client(
    base_url: str, token: str, after: int, tracker: Tracker, probe: bool, ready: asyncio.Event
) -> None:
    """Read the stream; every client notes (position, time); the probe also decodes each
    event to learn which webhook it came from. A cut stream (the hub cuts a client that
    falls 2,000 events behind) is resumed after the last id, as EventSource does."""
    parts = urlsplit(base_url)
    position = after
    while True:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(
            f"GET /realtime/stream?token={token}&after={position} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nAccept: text/event-stream\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        try:
            await reader.readuntil(b"\r\n\r\n")
            ready.set()
            rest = b""
            while chunk := await reader.read(65536):
                at = time.perf_counter()
                frames = (rest + chunk).split(b"\n\n")
                rest = frames.pop()  # an unfinished frame waits for the next read
                for frame in frames:
                    found = _ID.search(frame)
                    if found is None:
                        continue  # a heartbeat, `retry:`, or chunked framing
                    position = int(found[1])
                    tracker.seen.append((position, at))
                    data = _DATA.search(frame) if probe else None
                    if data is not None:
                        env = _decode(data[1])
                        if env.payload.sequence_number is not None:
                            key = (env.entity.id, env.payload.sequence_number)
                            tracker.position_of[position] = key
        finally:
            writer.close()
        tracker.resumes += 1


@contextlib.contextmanager
def worker(database_url: str, nats_url: str, log: Path) -> Iterator[dict[str, int]]:
    """The processes `switchboard up` runs beside the API (`layout.UP_COMPONENTS`), their
    output in one log; yields each one's pid by its `serve` arguments."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "SB_LOG_LEVEL": "WARNING",
    }
    serve = [sys.executable, "-m", "entrypoints.cli.main", "serve"]
    components = [c for c in UP_COMPONENTS if c != ["api"]]  # the harness serves the API
    processes = []
    with log.open("wb") as out:
        for component in components:
            command = [*serve, *component]
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        yield {" ".join(c): p.pid for c, p in zip(components, processes, strict=True)}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True, slots=True)
class Step:
    rate: int
    clients: int
    sent: int
    events: int
    latencies: list[float]  # ms, one per (client, webhook sent in the measured window)
    errors: int
    drain_seconds: float
    resumes: int
    used: int  # requests consumed from the list given
    tracker: Tracker = field(repr=False)
    measured_from: float = 0.0  # perf_counter()
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core, per component

    @property
    def lost(self) -> int:
        """Deliveries owed (each measured webhook to each client) that never came."""
        return self.events * self.clients - len(self.latencies)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 0.95)


async def drained(database_url: str) -> float:
    """Wait until the inbox is empty and every follower reached the store's head; then a
    moment for the hub to fan out the last rows. Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < DRAIN_SECONDS:
        health = await asyncio.to_thread(sync_health, database_url)
        if health.inbox_pending == 0 and all(f.lag == 0 for f in health.followers):
            await asyncio.sleep(1.0)
            return time.perf_counter() - started
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def measure(
    database_url: str,
    base_url: str,
    key: str,
    requests: list[SignedRequest],
    *,
    rate: int,
    clients: int,
    seconds: float,
    warmup: float,
    meter: CpuMeter | None = None,
) -> Step:
    async with httpx.AsyncClient(base_url=base_url) as http:
        auth = {"Authorization": f"Bearer {key}"}
        token = (await http.get("/realtime/token", headers=auth)).json()["token"]
        after = (await http.get("/api/calls/active", headers=auth)).json()["position"]
    tracker = Tracker()
    ready = [asyncio.Event() for _ in range(clients)]
    readers = [
        asyncio.create_task(sse_client(base_url, token, after, tracker, i == 0, ready[i]))
        for i in range(clients)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), timeout=120)
    stop = asyncio.Event()
    count = int((seconds + warmup) * rate)
    sender = asyncio.create_task(
        send_paced(
            base_url + "/webhooks/twilio/voice-status", requests[:count], rate, tracker, stop
        )
    )
    measured_from = time.perf_counter() + warmup
    await asyncio.sleep(warmup)
    if meter:
        meter.start()
    await asyncio.sleep(seconds)
    cpu = meter.stop() if meter else {}
    stop.set()
    sent = await sender
    drain = await drained(database_url)  # late events still count, with their latency
    owed = clients * sum(1 for at in tracker.sent.values() if at >= measured_from)
    deadline = time.perf_counter() + LATE_SECONDS  # the hub may still be fanning out
    while len(tracker.latencies_ms(measured_from)) < owed and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    latencies = tracker.latencies_ms(measured_from)
    window = [sent_at for sent_at in tracker.sent.values() if sent_at >= measured_from]
    return Step(
        round(sent / (seconds + warmup)),
        clients,
        sent,
        len(window),
        latencies,
        tracker.errors,
        drain,
        tracker.resumes,
        tracker.next_request,
        tracker,
        measured_from,
        cpu,
    )


STAGES = (
    "API: sent → stored in the inbox",
    "worker: inbox → event stored",
    "delivery: event stored → read from SSE",
)


def stages(database_url: str, step: Step) -> list[list[float]]:
    """Where each measured webhook's time went, as p50/p95/p99 ms per STAGES entry: the
    harness's send and read times against the inbox row's `received_at` and the event's
    `recorded_at` (PostgreSQL's clock, on this machine). Delivery is the relay, NATS, the
    calls projection, the hub and the SSE write."""
    wall = time.time() - time.perf_counter()  # perf_counter() + wall = the same clock as PG
    first_read: dict[int, float] = {}
    for position, at in step.tracker.seen:
        first_read.setdefault(position, at + wall)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT e.position, i.call_sid, (i.payload->>'SequenceNumber')::int,"
            " extract(epoch FROM i.received_at)::float8,"
            " extract(epoch FROM e.recorded_at)::float8 FROM webhook_inbox i"
            " JOIN call_events e ON e.operation_id = 'webhook:' || i.dedupe_key"
            " WHERE i.received_at >= to_timestamp(%s)",
            (step.measured_from + wall,),
        ).fetchall()
    parts: list[list[float]] = [[], [], []]
    for position, call_sid, sequence, received, recorded in rows:
        sent = step.tracker.sent.get((call_sid, sequence))
        read = first_read.get(position)
        if sent is None or read is None:
            continue
        spans = (received - sent - wall, recorded - received, read - recorded)
        for part, ms in zip(parts, spans, strict=True):
            part.append(ms * 1000)
    return [[percentile(sorted(p), q) for q in (0.5, 0.95, 0.99)] for p in parts]


def run_async(coro: object) -> Step:
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(coro)  # type: ignore[arg-type]


def prime(database_url: str, base_url: str, key: str, requests: list[SignedRequest]) -> int:
    """Until the worker has started (its leaders, consumers, streams), webhooks only queue
    up: send a trickle until one round trips completely. Returns the requests used."""
    used = 0
    for _ in range(PRIME_TRIES):
        step = run_async(
            measure(
                database_url,
                base_url,
                key,
                requests[used:],
                rate=PRIME_RATE,
                clients=1,
                seconds=2,
                warmup=0,
            )
        )
        used += step.used
        if step.events and step.lost == 0:
            return used
    msg = f"the pipeline delivered nothing within {PRIME_TRIES} tries: see worker.log"
    raise RuntimeError(msg)


def ramp(
    database_url: str, base_url: str, key: str, requests: list[SignedRequest], seconds: int
) -> tuple[list[Step], int]:
    """More clients each step, at RAMP_RATE, until p95 passes CLIENTS_P95_MS or one is
    lost. Returns the steps and the requests used."""
    steps: list[Step] = []
    used = 0
    for clients in RAMP_CLIENTS:
        step = run_async(
            measure(
                database_url,
                base_url,
                key,
                requests[used : used + (seconds + 1) * RAMP_RATE],
                rate=RAMP_RATE,
                clients=clients,
                seconds=seconds,
                warmup=1,
            )
        )
        steps.append(step)
        used += step.used
        print(f"  {clients} clients at {RAMP_RATE}/s: p95 {step.p95:.1f} ms", flush=True)
        if not (step.p95 <= CLIENTS_P95_MS and step.lost == 0):
            break
    return steps, used


def _just(pid: int) -> Callable[[], list[int]]:
    return lambda: [pid]


def row(label: str, step: Step, target: str, ok: bool | None) -> list[str]:
    lat = step.latencies
    return [
        label,
        f"{step.rate:,}",
        f"{step.clients:,}",
        f"{step.events:,}",
        f"{len(lat):,}",
        f"{step.lost:,}",
        f"{step.resumes:,}",
        f"{percentile(lat, 0.50):.1f}",
        f"{percentile(lat, 0.95):.1f}",
        f"{percentile(lat, 0.99):.1f}",
        f"{step.drain_seconds:.1f}",
        target,
        "" if ok is None else ("yes" if ok else "NO"),
    ]


def run(ctx: BenchContext) -> Table:
    seconds, rate = ctx.options.realtime_seconds, ctx.options.realtime_rate
    step_seconds = min(RAMP_STEP_SECONDS, seconds)
    print(f"{TITLE}:", flush=True)
    url = own_database(ctx.database_url, "bench_realtime")
    account_sid, auth_token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
    _, key = create_project(
        url, name="bench-rt", twilio_account_sid=account_sid, twilio_auth_token=auth_token
    )
    port = free_port()
    webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    rng = random.Random(20261122)
    total = PRIME_TRIES * PRIME_RATE * 2 + (seconds + ctx.options.warmup) * rate
    total += len(RAMP_CLIENTS) * (step_seconds + 1) * RAMP_RATE
    print(f"  signing {total:,} distinct callbacks", flush=True)
    requests = signed_requests(rng, account_sid, auth_token, webhook_url, total)
    nats = EmbeddedNats(ctx.workdir / "nats")
    nats_url = nats.start()
    db_args = ("--database-url", url, "--data-dir", str(ctx.workdir / "var-rt"))
    try:
        with (
            worker(url, nats_url, ctx.workdir / "worker.log") as workers,
            served("switchboard", port, ctx.workdir / "realtime-api.log", *db_args) as server,
        ):
            used = prime(url, server.base_url, key, requests)
            # The ramp first, on a quiet pipeline; then the sustained rate, whose backlog
            # (if any) would otherwise spill into the ramp.
            steps, ramped = ramp(url, server.base_url, key, requests[used:], step_seconds)
            used += ramped
            print(f"  {rate}/s for {seconds} s, one SSE client", flush=True)
            speed_ms = speed_check()
            latency = run_async(
                measure(
                    url,
                    server.base_url,
                    key,
                    requests[used:],
                    rate=rate,
                    clients=1,
                    seconds=seconds,
                    warmup=ctx.options.warmup,
                    meter=CpuMeter(
                        {
                            "PostgreSQL": named("postgres"),
                            "NATS": named("nats-server"),
                            "serve api": _just(server.pid),
                            **{f"serve {c}": _just(pid) for c, pid in workers.items()},
                            "harness": _just(os.getpid()),
                        }
                    ),
                )
            )
            print(
                f"  p50 {percentile(latency.latencies, 0.5):.1f} ms, p95 {latency.p95:.1f} ms,"
                f" p99 {percentile(latency.latencies, 0.99):.1f} ms over"
                f" {len(latency.latencies):,} webhooks, {latency.errors} errors",
                flush=True,
            )
            split = stages(url, latency)
    finally:
        nats.stop()
    lat = latency.latencies
    ok = (
        percentile(lat, 0.95) <= TARGET_P95_MS
        and percentile(lat, 0.99) <= TARGET_P99_MS
        and latency.errors == 0
        and latency.lost == 0
        and latency.rate >= rate * 0.98
        and rate >= RATE  # the target is set at 500/s
    )
    held = [s for s in steps if s.p95 <= CLIENTS_P95_MS and s.lost == 0]
    rows = [
        row(f"Webhook → SSE, {seconds} s sustained", latency, "p95 ≤ 100 ms, p99 ≤ 250 ms", ok),
        *(row(f"Clients ramp, {s.clients} clients", s, "p95 ≤ 250 ms", s in held) for s in steps),
    ]
    most = max((s.clients for s in held), default=0)
    busy = dict(latency.cpu)
    idle, iowait, steal = (busy.pop(k, 0.0) for k in ("idle", "iowait", "steal"))
    return Table(
        TITLE,
        COLUMNS,
        rows,
        [
            f"Latency: from writing a signed `POST /webhooks/twilio/voice-status` to reading its"
            f" event (`call.updated` or `call.observation_ignored` with that SequenceNumber)"
            f" from `/realtime/stream`, both in the harness process. {latency.sent:,} webhooks"
            f" were scheduled at {rate}/s (paced, open loop, over {SENDERS} keep-alive"
            f" connections; `Webhooks/s sent` is what the harness achieved),"
            f" {latency.errors} answered other than 200; the first {ctx.options.warmup} s are"
            " not counted. After the load the harness waits until the inbox and every"
            " projection are drained (`Drain s`), so late events count with their latency and"
            " `Lost` is what never arrived. `Resumed`: streams the hub cut because the client"
            " fell 2,000 events behind, which the client resumed by id (as EventSource does).",
            "Pipeline: as `switchboard up` runs it (ADR 0013): the API (one uvicorn process),"
            " `serve worker --no-projections` (inbox worker, relay to NATS JetStream),"
            " `serve projections --only calls_view`, `serve projections --only` the other"
            " projections, and embedded NATS, on the same PostgreSQL; ClickHouse is not on"
            " this path and does not run (its projection waits for it).",
            f"CPU over the sustained run's measured window (% of one core; this machine has"
            f" {os.cpu_count()}): "
            + ", ".join(f"{name} {pct:.0f}" for name, pct in busy.items())
            + f"; {sum(busy.values()):.0f} in all; idle {idle:.0f}, waiting on the disk"
            f" {iowait:.0f}, stolen by the hypervisor {steal:.0f}.",
            "Where the sustained run's time goes (p50 / p95 / p99 ms of each measured"
            " webhook, from the harness's clock and PostgreSQL's `received_at` and"
            " `recorded_at`; delivery is the relay, NATS, the calls projection, the hub and"
            " the SSE write): "
            + "; ".join(
                f"{name} {ms[0]:.0f} / {ms[1]:.0f} / {ms[2]:.0f}"
                for name, ms in zip(STAGES, split, strict=True)
            )
            + ".",
            "Over the sustained run (p50 / p95 ms of the webhooks sent in each 10 s): "
            + "; ".join(f"{at:.0f} s: {p50:.0f} / {p95:.0f}" for at, p50, p95 in drift(latency))
            + f". A fixed pure-Python loop (a million multiply-adds) took {speed_ms:.0f} ms"
            " just before it, best of 3: compare it across runs to tell a slower machine"
            " from slower code.",
            f"Clients: {most:,} concurrent SSE clients held p95 ≤ {CLIENTS_P95_MS:.0f} ms"
            f" (steps of {step_seconds} s at {RAMP_RATE} webhooks/s, each event fanned"
            " out to every client; the ramp stops at the first step over the target). The"
            " clients run in the harness process on the same cores as the servers, so past"
            " a few hundred clients they measure the harness as much as the hub.",
        ],
    )
