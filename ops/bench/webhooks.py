"""Signed Twilio webhooks accepted per second by the real API, next to a bare FastAPI floor."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import psycopg

from adapters.postgres.projects import create_project
from adapters.twilio.signature import compute_signature
from adapters.twilio.simulator import script_call
from ops.bench.context import BenchContext
from ops.bench.load import LoadResult, SignedRequest
from ops.bench.report import Table
from ops.bench.serve import VOICE_PATH
from ops.bench.servers import Server, free_port, served

TITLE = "Signed webhooks accepted per second"
TARGET_RATE = 2_000  # accepted webhooks per second
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.4  # switchboard / bare FastAPI
WARMUP_PER_SECOND = 5_000  # callbacks signed per warm-up second (repeats there are harmless)
MIN_MEASURED = 20_000  # callbacks signed for a measured run, at the least
COLUMNS = [
    *("App", "Accepted/s", "p50 ms", "p99 ms", "Errors", "Requests", "Server CPU"),
    *("Target", "Met"),
]


def signed_requests(
    rng: random.Random, account_sid: str, token: str, url: str, count: int
) -> list[SignedRequest]:
    """Distinct callbacks (a fresh CallSid per simulated call, one per SequenceNumber)."""
    out: list[SignedRequest] = []
    start = datetime.now(UTC)
    while len(out) < count:
        for callback in script_call(rng, account_sid, start).callbacks:
            params = callback.params
            out.append(
                SignedRequest(
                    signature=compute_signature(token, url, params.items()),
                    idempotency_token=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    body=urlencode(params),
                )
            )
    return out[:count]


def inbox_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()
    return int(row[0]) if row else 0


def preflight(url: str, request: SignedRequest) -> None:
    """One request by hand first: a misconfiguration fails loudly, not as 100% errors."""
    response = httpx.post(
        url,
        content=request.body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": request.signature,
        },
        timeout=10,
    )
    if response.status_code != 200 or not response.json().get("stored"):
        msg = f"preflight webhook was not stored: {response.status_code} {response.text}"
        raise RuntimeError(msg)


def warm_up(ctx: BenchContext, label: str, url: str, requests: list[SignedRequest]) -> None:
    print(f"  {label}: warm-up {ctx.options.warmup} s", flush=True)
    ctx.load.run(url, requests, seconds=ctx.options.warmup, connections=ctx.options.connections)


@dataclass(frozen=True, slots=True)
class Measurement:
    load: LoadResult
    server_cpu: float  # the server process's CPU time over the run, in % of one core


def measure(
    ctx: BenchContext, label: str, server: Server, url: str, requests: list[SignedRequest]
) -> Measurement:
    o = ctx.options
    print(f"  {label}: {o.duration} s measured, {o.connections} connections", flush=True)
    cpu = server.cpu_seconds()
    result = ctx.load.run(url, requests, seconds=o.duration, connections=o.connections)
    m = Measurement(result, 100 * (server.cpu_seconds() - cpu) / result.seconds)
    print(
        f"  {label}: {result.rate:,.0f}/s, p50 {result.p50_ms:.1f} ms,"
        f" p99 {result.p99_ms:.1f} ms, {result.errors} errors, server CPU {m.server_cpu:.0f}%",
        flush=True,
    )
    return m


def met(ok: bool) -> str:
    return "yes" if ok else "NO"


def row(label: str, m: Measurement, target: str, ok: str) -> list[str]:
    r = m.load
    return [
        label,
        f"{r.rate:,.0f}",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{r.errors:,}",
        f"{r.requests:,}",
        f"{m.server_cpu:.0f}%",
        target,
        ok,
    ]


def run(ctx: BenchContext) -> Table:
    """Switchboard first (its warm-up rate sizes the set of distinct callbacks), then bare."""
    print(f"{TITLE}:", flush=True)
    rng = random.Random(20261121)
    account_sid, token = "AC" + uuid.uuid4().hex, uuid.uuid4().hex
    create_project(
        ctx.database_url, name="bench", twilio_account_sid=account_sid, twilio_auth_token=token
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}{VOICE_PATH}"
    sign = functools.partial(signed_requests, rng, account_sid, token, url)
    warm = sign(ctx.options.warmup * WARMUP_PER_SECOND)
    db_args = ("--database-url", ctx.database_url, "--data-dir", str(ctx.workdir / "var"))
    with served("switchboard", port, ctx.workdir / "switchboard.log", *db_args) as server:
        preflight(url, sign(1)[0])
        warm_up(ctx, "switchboard", url, warm)
        warm_rate = inbox_rows(ctx.database_url) / ctx.options.warmup
        timed = sign(max(MIN_MEASURED, int(2 * warm_rate * ctx.options.duration)))
        before = inbox_rows(ctx.database_url)
        switchboard = measure(ctx, "switchboard", server, url, timed)
        added = inbox_rows(ctx.database_url) - before
    with served("bare", port, ctx.workdir / "bare.log") as server:
        warm_up(ctx, "bare FastAPI", url, warm)
        bare = measure(ctx, "bare FastAPI", server, url, timed)
    sb = switchboard.load
    ratio = sb.rate / bare.load.rate if bare.load.rate else 0.0
    sb_met = sb.rate >= TARGET_RATE and sb.p99_ms <= TARGET_P99_MS and sb.errors == 0
    sb_target = f"≥ {TARGET_RATE:,}/s, p99 ≤ {TARGET_P99_MS:.0f} ms, 0 errors"
    blanks = [""] * (len(COLUMNS) - 4)
    ratio_row = ["Ratio switchboard / bare", f"{ratio:.2f}", *blanks, f"≥ {TARGET_RATIO}"]
    ratio_row.append(met(ratio >= TARGET_RATIO))
    # Requests in flight when the clock stops are stored but not counted: added >= accepted.
    inserts = (
        "every accepted request was a new INSERT"
        if added >= sb.ok
        else f"{sb.ok - added:,} accepted requests were duplicates: the set was too small"
    )
    return Table(
        TITLE,
        COLUMNS,
        [
            row("Switchboard (signed voice-status → inbox)", switchboard, sb_target, met(sb_met)),
            row("Bare FastAPI (no-op POST → 200)", bare, "floor", ""),
            ratio_row,
        ],
        [
            f"`POST {VOICE_PATH}` with a valid `X-Twilio-Signature`, each request a distinct"
            f" callback (own CallSid/SequenceNumber): {len(timed):,} were signed before the"
            f" measured run, which added {added:,} inbox rows for {sb.ok:,} accepted requests"
            f" ({inserts}).",
            "Both apps get the same request bodies, the same uvicorn settings and the same load"
            " generator; the bare app ignores the body. Accepted/s counts 2xx answers only;"
            " Server CPU is the uvicorn process's CPU time over the run (100% = one core).",
        ],
    )
