"""A Twilio-like provider that places calls and posts signed status callbacks.

First version: outbound call lifecycles (answered, busy, no-answer, failed) with
realistic timing, Twilio's callback fields, RFC 2822 timestamps and sequence numbers,
and an optional share of duplicated callbacks. It keeps its ground truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from adapters.twilio.signature import compute_signature

# (final status, weight, SIP code)
OUTCOMES = [("completed", 70, 200), ("no-answer", 15, 487), ("busy", 10, 486), ("failed", 5, 404)]


@dataclass
class Callback:
    at: float
    params: dict[str, str]


@dataclass
class ScriptedCall:
    sid: str
    final_status: str
    callbacks: list[Callback]


@dataclass
class SimulationReport:
    calls: dict[str, str] = field(default_factory=dict)
    posted: int = 0
    duplicates: int = 0
    rejected: int = 0


def new_sid(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def script_call(
    rng: random.Random, account_sid: str, start: datetime, speed: float = 1.0
) -> ScriptedCall:
    """One outbound call's callbacks, timed relative to its start (seconds / speed)."""
    sid = new_sid("CA", rng)
    final, _, sip = rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0]
    base = {
        "AccountSid": account_sid,
        "CallSid": sid,
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "From": f"+1415555{rng.randrange(10000):04d}",
        "To": f"+1650555{rng.randrange(10000):04d}",
        "CallbackSource": "call-progress-events",
    }
    steps: list[tuple[float, str, dict[str, str]]] = [
        (0.0, "initiated", {}),
        (rng.uniform(0.5, 2), "ringing", {}),
    ]
    t = steps[-1][0]
    if final == "completed":
        t += rng.uniform(1, 4)
        steps.append((t, "in-progress", {}))
        talk = rng.uniform(4, 25)
        t += talk
        steps.append(
            (
                t,
                "completed",
                {
                    "CallDuration": str(int(talk)),
                    "Duration": str(int(talk) // 60 + 1),
                    "SipResponseCode": str(sip),
                },
            )
        )
    else:
        t += rng.uniform(2, 12)
        steps.append((t, final, {"CallDuration": "0", "SipResponseCode": str(sip)}))
    callbacks = [
        Callback(
            at / speed,
            {
                **base,
                **extra,
                "CallStatus": status,
                "SequenceNumber": str(i),
                "Timestamp": email.utils.format_datetime(start + timedelta(seconds=at)),
            },
        )
        for i, (at, status, extra) in enumerate(steps)
    ]
    return ScriptedCall(sid, final, callbacks)


class ProviderSimulator:
    def __init__(
        self,
        webhook_url: str,
        account_sid: str,
        auth_token: str,
        *,
        seed: int | None = None,
        duplicate_rate: float = 0.0,
        speed: float = 1.0,
    ) -> None:
        self.webhook_url = webhook_url
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.rng = random.Random(seed)
        self.duplicate_rate = duplicate_rate
        self.speed = speed
        self.report = SimulationReport()

    async def post(self, client: httpx.AsyncClient, params: dict[str, str]) -> int:
        headers = {
            "X-Twilio-Signature": compute_signature(
                self.auth_token, self.webhook_url, params.items()
            ),
            "I-Twilio-Idempotency-Token": str(uuid.UUID(bytes=secrets.token_bytes(16))),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1 (switchboard-simulator)",
        }
        response = await client.post(self.webhook_url, content=urlencode(params), headers=headers)
        self.report.posted += 1
        if response.status_code >= 400:
            self.report.rejected += 1
        return response.status_code

    async def play(self, client: httpx.AsyncClient, call: ScriptedCall) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        for cb in call.callbacks:
            await asyncio.sleep(max(0.0, began + cb.at - loop.time()))
            await self.post(client, cb.params)
            if self.rng.random() < self.duplicate_rate:
                self.report.duplicates += 1
                await self.post(client, cb.params)
        self.report.calls[call.sid] = call.final_status

    async def run(
        self, calls: int, rate: float, stop: asyncio.Event | None = None
    ) -> SimulationReport:
        """Start `calls` calls (0: until stopped) at `rate` per second; wait for them to end."""
        stop = stop or asyncio.Event()
        async with httpx.AsyncClient(timeout=10.0) as client:
            running: set[asyncio.Task[None]] = set()
            started = 0
            while not stop.is_set() and (calls == 0 or started < calls):
                call = script_call(self.rng, self.account_sid, datetime.now(UTC), self.speed)
                task = asyncio.create_task(self.play(client, call))
                running.add(task)
                task.add_done_callback(running.discard)
                started += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0 / rate)
            if stop.is_set():  # stopped: abandon calls in flight rather than finish them
                for task in running:
                    task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        return self.report
