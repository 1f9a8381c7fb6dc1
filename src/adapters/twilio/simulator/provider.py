"""ProviderSimulator: plays a Twilio account. It runs call and message lifecycles, posts
their signed status callbacks through a lossy network (Chaos), serves the REST API the
reconcile jobs read, and keeps the ground truth of every call."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn

from adapters.twilio.signature import compute_signature
from adapters.twilio.simulator.delivery import Chaos, Delivery, plan_deliveries
from adapters.twilio.simulator.lifecycles import (
    SCENARIO_OUTCOMES,
    Callback,
    Leg,
    ScriptedCall,
    new_sid,
    script_leg,
    script_message,
    script_scenario,
)
from adapters.twilio.simulator.records import ProviderRecords
from adapters.twilio.simulator.rest import rest_app

CALLBACK_PATHS = {
    "voice": "voice-status",
    "recording": "recording-status",
    "messaging": "messaging-status",
}
# StatusCallbackEvent names (POST /Calls.json) and the statuses they cover.
EVENT_STATUSES = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}


@dataclass
class SimulationReport:
    scenarios: int = 0  # calls placed; child legs come on top
    calls: dict[str, str] = field(default_factory=dict)  # CallSid -> final status, every leg
    messages: dict[str, str] = field(default_factory=dict)
    posted: int = 0
    duplicates: int = 0
    rejected: int = 0  # answered with a non-2xx status, or not at all
    dropped: int = 0
    reordered: int = 0
    delayed: int = 0
    failed_by_kind: Counter[str] = field(default_factory=Counter)
    # CallSids whose callbacks did not all arrive (dropped or rejected): only these can
    # be wrong on the receiving side.
    lossy_calls: set[str] = field(default_factory=set)
    accepted: Counter[tuple[str, ...]] = field(default_factory=Counter)  # 2xx, by Callback.key

    def summary(self) -> dict[str, Any]:
        return {
            "scenarios": self.scenarios,
            "call_legs": len(self.calls),
            "messages": len(self.messages),
            "posted": self.posted,
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "delayed": self.delayed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "rejected_by_kind": dict(self.failed_by_kind),
            "calls_with_lost_callbacks": len(self.lossy_calls),
        }


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
        chaos: Chaos | None = None,
        message_share: float = 0.0,
        keep_deliveries: bool = False,
    ) -> None:
        """`webhook_url` is the voice-status URL; recording and messaging callbacks go to
        its siblings (`…/recording-status`, `…/messaging-status`). `keep_deliveries` keeps
        the key of every accepted callback in the report (finite runs: tests, --truth)."""
        self.webhook_url = webhook_url
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.rng = random.Random(seed)
        self.chaos = chaos or Chaos(duplicates=duplicate_rate)
        self.speed = speed
        self.message_share = message_share
        self.keep_deliveries = keep_deliveries
        self.report = SimulationReport()
        self.records = ProviderRecords(account_sid)
        self.api_base = "https://api.twilio.com"
        self._placed_client: httpx.AsyncClient | None = None  # posts for POST /Calls.json
        self._playing: set[asyncio.Task[None]] = set()

    def callback_url(self, kind: str) -> str:
        return self.webhook_url.rsplit("/", 1)[0] + "/" + CALLBACK_PATHS[kind]

    def truth(self) -> dict[str, Any]:
        """Every call's and message's final provider state, JSON-ready."""
        return {
            "calls": {sid: live.script.truth.as_dict() for sid, live in self.records.calls.items()},
            "messages": {
                sid: {"status": m.script.truth.status, "error_code": m.script.truth.error_code}
                for sid, m in self.records.messages.items()
            },
        }

    async def post(
        self, client: httpx.AsyncClient, params: dict[str, str], url: str | None = None
    ) -> int:
        """One signed form POST, as Twilio sends it; returns the HTTP status (0: no answer)."""
        url = url or self.webhook_url
        headers = {
            "X-Twilio-Signature": compute_signature(self.auth_token, url, params.items()),
            "I-Twilio-Idempotency-Token": str(uuid.UUID(bytes=secrets.token_bytes(16))),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1 (switchboard-simulator)",
        }
        self.report.posted += 1
        try:
            response = await client.post(url, content=urlencode(params), headers=headers)
        except httpx.HTTPError:
            return 0
        return response.status_code

    async def _deliver(
        self, client: httpx.AsyncClient, delivery: Delivery, url: str, call_sid: str | None
    ) -> None:
        cb = delivery.callback
        status = await self.post(client, cb.params, url)
        if delivery.duplicate:
            self.report.duplicates += 1
        if 200 <= status < 300:
            if self.keep_deliveries:
                self.report.accepted[cb.key] += 1
        else:
            self.report.rejected += 1
            self.report.failed_by_kind[cb.kind] += 1
            if call_sid:
                self.report.lossy_calls.add(call_sid)

    async def _play(
        self,
        client: httpx.AsyncClient,
        callbacks: list[Callback],
        ends_at: float,
        urls: dict[str, str],
    ) -> None:
        """Deliver one scenario's callbacks on the (scaled) clock through the chaos plan."""
        plan = plan_deliveries(callbacks, ends_at, self.chaos, self.rng, self.speed)
        self.report.dropped += len(plan.dropped)
        self.report.reordered += plan.reordered
        self.report.delayed += plan.delayed
        for cb in plan.dropped:
            if "CallSid" in cb.params:
                self.report.lossy_calls.add(cb.params["CallSid"])
        loop = asyncio.get_running_loop()
        began = loop.time()
        for delivery in plan.deliveries:
            await asyncio.sleep(max(0.0, began + delivery.at - loop.time()))
            kind = delivery.callback.kind
            await self._deliver(
                client, delivery, urls[kind], delivery.callback.params.get("CallSid")
            )

    def _start(self, client: httpx.AsyncClient, legs: list[ScriptedCall], epoch: datetime) -> None:
        began = time.monotonic()
        for leg in legs:
            self.records.add_call(leg, epoch, began)
            self.report.calls[leg.sid] = leg.final_status
        callbacks = sorted((cb for leg in legs for cb in leg.callbacks), key=lambda c: c.at)
        ends_at = max(leg.callbacks[-1].at for leg in legs)
        urls = {kind: self.callback_url(kind) for kind in CALLBACK_PATHS}
        self._spawn(self._play(client, callbacks, ends_at, urls))
        if self.message_share and self.rng.random() < self.message_share:
            message = script_message(self.rng, self.account_sid, epoch, self.speed)
            self.records.add_message(message, began)
            self.report.messages[message.sid] = message.truth.status
            self._spawn(self._play(client, message.callbacks, message.callbacks[-1].at, urls))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._playing.add(task)
        task.add_done_callback(self._playing.discard)

    async def run(
        self,
        calls: int,
        rate: float,
        stop: asyncio.Event | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> SimulationReport:
        """Start `calls` scenarios (0: until stopped) at `rate` per second; wait for their
        callbacks unless stopped. `client` may carry a custom transport (tests)."""
        stop = stop or asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=10.0))
            started = 0
            while not stop.is_set() and (calls == 0 or started < calls):
                epoch = datetime.now(UTC)
                legs = script_scenario(self.rng, self.account_sid, epoch, self.speed, self.api_base)
                self._start(client, legs, epoch)
                started += 1
                self.report.scenarios += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0 / rate)
            if stop.is_set():  # stopped: abandon calls in flight rather than finish them
                for task in list(self._playing):
                    task.cancel()
            if self._playing:
                await asyncio.gather(*list(self._playing), return_exceptions=True)
        return self.report

    async def place_call(self, params: dict[str, list[str]]) -> dict[str, Any]:
        """POST /Calls.json: a queued outbound call whose lifecycle then plays, posting to
        its StatusCallback only the StatusCallbackEvent statuses (and always the final)."""
        epoch = datetime.now(UTC)
        final, _, sip = self.rng.choices(
            SCENARIO_OUTCOMES, weights=[o[1] for o in SCENARIO_OUTCOMES]
        )[0]
        amd = params.get("MachineDetection", [""])[0] in ("Enable", "DetectMessageEnd")
        leg = Leg(
            sid=new_sid("CA", self.rng),
            direction="outbound-api",
            from_number=params["From"][0],
            to_number=params["To"][0],
            outcome=final,
            sip=sip,
            begins=0.0,
            ring=self.rng.uniform(0.5, 2),
            talk=self.rng.uniform(8, 40),
            answered_by=self.rng.choice(("human", "machine_start")) if amd else None,
            record=params.get("Record", ["false"])[0].lower() == "true",
        )
        call = script_leg(self.rng, self.account_sid, epoch, leg, self.speed, self.api_base)
        wanted = {
            EVENT_STATUSES[e] for e in params.get("StatusCallbackEvent", []) if e in EVENT_STATUSES
        }
        status_url = params.get("StatusCallback", [None])[0]
        recording_url = params.get("RecordingStatusCallback", [None])[0]
        callbacks = []
        for cb in call.callbacks:
            if cb.kind == "recording" and recording_url:
                callbacks.append(cb)
            elif cb.kind == "voice" and status_url:
                status = cb.params["CallStatus"]
                if status in wanted or status == call.final_status:
                    callbacks.append(cb)
        began = time.monotonic()
        self.records.add_call(call, epoch, began)
        self.report.calls[call.sid] = call.final_status
        urls = {"voice": status_url or "", "recording": recording_url or "", "messaging": ""}
        if self._placed_client is None:
            self._placed_client = httpx.AsyncClient(timeout=10.0)
        if callbacks:
            self._spawn(self._play(self._placed_client, callbacks, call.callbacks[-1].at, urls))
        return self.records.call_resource(call.sid, now=began)  # as created: queued

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Serve the REST API until `stop`; recordings made from now on link to it."""
        server = self.rest_server(host, port)
        task = asyncio.create_task(server.serve())
        await stop.wait()
        server.should_exit = True
        await task

    def rest_server(self, host: str, port: int) -> uvicorn.Server:
        self.api_base = f"http://{host}:{port}"
        app = rest_app(self.records, self.auth_token, self.place_call)
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        return _EmbeddedServer(config)


class _EmbeddedServer(uvicorn.Server):
    """A server inside someone else's process: signals stay with the host (`up`'s
    supervisor, the CLI); it stops when told to (`should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
