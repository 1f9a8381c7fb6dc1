"""Scripted provider lifecycles: what a call or message goes through, the callbacks it fires,
and the ground truth it ends in.

Times are simulated seconds after the scenario's start. `Callback.at` is already divided
by the speed factor (real seconds to wait), while provider timestamps keep simulated time,
so a compressed run still reports realistic durations.
"""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

API_VERSION = "2010-04-01"
# (final status, weight, SIP code) of a plain outbound call (script_call, the benchmarks).
OUTCOMES = [("completed", 70, 200), ("no-answer", 15, 487), ("busy", 10, 486), ("failed", 5, 404)]
# The richer mix of script_scenario: canceled calls and AMD on top.
SCENARIO_OUTCOMES = [
    ("completed", 62, 200),
    ("no-answer", 12, 487),
    ("busy", 10, 486),
    ("failed", 8, 404),
    ("canceled", 8, 487),
]
AMD_VERDICTS = [("human", 70), ("machine_start", 25), ("fax", 5)]
PRICE_PER_MINUTE = 0.014
PRICE_DELAY_S = 5.0  # Twilio: the price "may not be immediately available"
RECORDING_DELAY_S = 3.0  # the audio is processed after the call ends


def new_sid(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def rfc2822(when: datetime) -> str:
    """Twilio's date format; the SDK discards the offset, so it must be +0000."""
    return email.utils.format_datetime(when).replace("-0000", "+0000")


@dataclass
class Callback:
    at: float  # real seconds after the scenario's start
    params: dict[str, str]
    kind: str = "voice"  # voice | recording | messaging

    @property
    def key(self) -> tuple[str, ...]:
        """Which provider event this is (a duplicate delivery has the same key)."""
        p = self.params
        if self.kind == "voice":
            return (self.kind, p["CallSid"], p["SequenceNumber"])
        if self.kind == "recording":
            return (self.kind, p["RecordingSid"], p["RecordingStatus"])
        return (self.kind, p["MessageSid"], p["MessageStatus"])


@dataclass
class RecordingTruth:
    sid: str
    status: str  # completed | absent
    duration: int | None  # None when absent
    channels: int
    url: str
    started_at: float  # simulated seconds: in-progress from here
    done_at: float  # simulated seconds: final from here


@dataclass
class CallTruth:
    """The provider's record of a call once it is over (what reconcile must converge to)."""

    sid: str
    account_sid: str
    direction: str
    from_number: str
    to_number: str
    parent_call_sid: str | None
    status: str
    start_time: datetime
    end_time: datetime
    duration: int
    sip_response_code: int
    answered_by: str | None = None
    price: str | None = None
    price_unit: str = "USD"
    recording: RecordingTruth | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields `GET /api/calls` shows, under its names."""
        rec = self.recording
        return {
            "call_sid": self.sid,
            "status": self.status,
            "direction": self.direction,
            "parent_call_sid": self.parent_call_sid,
            "duration_seconds": self.duration,
            "answered_by": self.answered_by,
            "price": self.price,
            "price_unit": self.price_unit if self.price is not None else None,
            "recording_sid": rec.sid if rec else None,
            "recording_status": rec.status if rec else None,
            "recording_url": rec.url if rec else None,
            "recording_duration_seconds": rec.duration if rec else None,
            "recording_channels": rec.channels if rec else None,
        }


@dataclass
class ScriptedCall:
    sid: str
    final_status: str
    callbacks: list[Callback]
    truth: CallTruth
    steps: list[tuple[float, str]] = field(default_factory=list)  # (simulated s, status)
    speed: float = 1.0

    @property
    def ends_at(self) -> float:
        """Simulated seconds after the scenario's start when the call is final."""
        return self.steps[-1][0]


@dataclass
class MessageTruth:
    sid: str
    account_sid: str
    from_number: str
    to_number: str
    status: str
    created_at: datetime
    segments: int
    error_code: int | None = None


@dataclass
class ScriptedMessage:
    sid: str
    callbacks: list[Callback]
    truth: MessageTruth
    steps: list[tuple[float, str]]
    speed: float = 1.0


@dataclass(frozen=True)
class Leg:
    """How one leg of a scenario goes; script_leg turns it into callbacks and truth."""

    sid: str
    direction: str
    from_number: str
    to_number: str
    outcome: str
    sip: int
    begins: float  # simulated seconds after the scenario's start
    ring: float
    talk: float = 0.0
    parent: str | None = None
    answered_by: str | None = None
    record: bool = False
    recording_absent: bool = False


def script_leg(
    rng: random.Random, account_sid: str, start: datetime, leg: Leg, speed: float, api_base: str
) -> ScriptedCall:
    base = {
        "AccountSid": account_sid,
        "CallSid": leg.sid,
        "ApiVersion": API_VERSION,
        "Direction": leg.direction,
        "From": leg.from_number,
        "To": leg.to_number,
        "CallbackSource": "call-progress-events",
    }
    if leg.parent:
        base["ParentCallSid"] = leg.parent
    amd = {"AnsweredBy": leg.answered_by} if leg.answered_by else {}
    t = leg.begins
    steps: list[tuple[float, str, dict[str, str]]] = [(t, "initiated", {})]
    t += leg.ring
    steps.append((t, "ringing", {}))
    talk = int(leg.talk)
    if leg.outcome == "completed":
        t += rng.uniform(1, 3)
        answered = t
        steps.append((t, "in-progress", amd))
        t += leg.talk
        ending = {"CallDuration": str(talk), "Duration": str(math.ceil(talk / 60) or 1)}
        steps.append((t, "completed", {**ending, "SipResponseCode": str(leg.sip), **amd}))
    else:
        t += rng.uniform(2, 10)
        talk = 0
        steps.append((t, leg.outcome, {"CallDuration": "0", "SipResponseCode": str(leg.sip)}))
    callbacks = [
        Callback(
            at / speed,
            {
                **base,
                **extra,
                "CallStatus": status,
                "SequenceNumber": str(i),
                "Timestamp": rfc2822(start + timedelta(seconds=at)),
            },
        )
        for i, (at, status, extra) in enumerate(steps)
    ]
    ended = steps[-1][0]
    truth = CallTruth(
        sid=leg.sid,
        account_sid=account_sid,
        direction=leg.direction,
        from_number=leg.from_number,
        to_number=leg.to_number,
        parent_call_sid=leg.parent,
        status=leg.outcome,
        start_time=start + timedelta(seconds=leg.begins),
        end_time=start + timedelta(seconds=ended),
        duration=talk,
        sip_response_code=leg.sip,
        answered_by=leg.answered_by if leg.outcome == "completed" else None,
        price=f"{-PRICE_PER_MINUTE * math.ceil(talk / 60):.5f}" if talk else None,
    )
    if leg.record and leg.outcome == "completed":
        truth.recording = _recording(rng, account_sid, start, leg, answered, ended, speed, api_base)
        callbacks += _recording_callbacks(account_sid, start, leg.sid, truth.recording, speed)
    callbacks.sort(key=lambda c: c.at)
    return ScriptedCall(
        leg.sid,
        leg.outcome,
        callbacks,
        truth,
        [(at, status) for at, status, _ in steps],
        speed,
    )


def _recording(
    rng: random.Random,
    account_sid: str,
    start: datetime,
    leg: Leg,
    answered: float,
    ended: float,
    speed: float,
    api_base: str,
) -> RecordingTruth:
    sid = new_sid("RE", rng)
    absent = leg.recording_absent
    return RecordingTruth(
        sid=sid,
        status="absent" if absent else "completed",
        duration=None if absent else int(leg.talk),
        channels=rng.choice((1, 2)),
        url=f"{api_base}/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}",
        started_at=answered,
        done_at=ended + RECORDING_DELAY_S,
    )


def _recording_callbacks(
    account_sid: str, start: datetime, call_sid: str, rec: RecordingTruth, speed: float
) -> list[Callback]:
    base = {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "RecordingSid": rec.sid,
        "RecordingUrl": rec.url,
        "RecordingSource": "OutboundAPI",
        "RecordingTrack": "both",
        "RecordingChannels": str(rec.channels),
        "RecordingStartTime": rfc2822(start + timedelta(seconds=rec.started_at)),
    }
    done = {"RecordingStatus": rec.status}
    if rec.status == "completed":
        done["RecordingDuration"] = str(rec.duration)
    return [
        Callback(rec.started_at / speed, {**base, "RecordingStatus": "in-progress"}, "recording"),
        Callback(rec.done_at / speed, {**base, **done}, "recording"),
    ]


def _number(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(10000):04d}"


def script_call(
    rng: random.Random,
    account_sid: str,
    start: datetime,
    speed: float = 1.0,
    api_base: str = "https://api.twilio.com",
) -> ScriptedCall:
    """One plain outbound call (voice callbacks only): what the benchmarks replay."""
    final, _, sip = rng.choices(OUTCOMES, weights=[o[1] for o in OUTCOMES])[0]
    leg = Leg(
        sid=new_sid("CA", rng),
        direction="outbound-api",
        from_number=_number(rng, "+1415555"),
        to_number=_number(rng, "+1650555"),
        outcome=final,
        sip=sip,
        begins=0.0,
        ring=rng.uniform(0.5, 2),
        talk=rng.uniform(4, 25),
    )
    return script_leg(rng, account_sid, start, leg, speed, api_base)


def script_scenario(
    rng: random.Random,
    account_sid: str,
    start: datetime,
    speed: float = 1.0,
    api_base: str = "https://api.twilio.com",
) -> list[ScriptedCall]:
    """A realistic mix: inbound or outbound, busy / no-answer / failed / canceled, AMD on
    outbound calls, recordings (some absent), and a child leg to an agent on inbound calls."""
    inbound = rng.random() < 0.3
    final, _, sip = rng.choices(SCENARIO_OUTCOMES, weights=[o[1] for o in SCENARIO_OUTCOMES])[0]
    if inbound and final == "canceled":
        final, sip = "completed", 200
    customer, line = _number(rng, "+1650555"), _number(rng, "+1415555")
    amd = None
    if not inbound and rng.random() < 0.4:
        amd = rng.choices([v for v, _ in AMD_VERDICTS], [w for _, w in AMD_VERDICTS])[0]
    parent = Leg(
        sid=new_sid("CA", rng),
        direction="inbound" if inbound else "outbound-api",
        from_number=customer if inbound else line,
        to_number=line if inbound else customer,
        outcome=final,
        sip=sip,
        begins=0.0,
        ring=rng.uniform(0.5, 2),
        talk=rng.uniform(8, 40),
        answered_by=amd,
        record=rng.random() < 0.5,
        recording_absent=rng.random() < 0.1,
    )
    call = script_leg(rng, account_sid, start, parent, speed, api_base)
    legs = [call]
    if inbound and final == "completed" and rng.random() < 0.5:
        answered = call.steps[2][0]
        agent_final = "completed" if rng.random() < 0.8 else "no-answer"
        child = Leg(
            sid=new_sid("CA", rng),
            direction="outbound-dial",
            from_number=line,
            to_number=_number(rng, "+1212555"),
            outcome=agent_final,
            sip=200 if agent_final == "completed" else 487,
            begins=answered + 0.5,
            ring=rng.uniform(0.3, 1),
            talk=max(1.0, parent.talk - 6),
            parent=call.sid,
        )
        legs.append(script_leg(rng, account_sid, start, child, speed, api_base))
    return legs


MESSAGE_OUTCOMES = [("delivered", 80, None), ("undelivered", 10, 30003), ("failed", 10, 30008)]


def script_message(
    rng: random.Random, account_sid: str, start: datetime, speed: float = 1.0
) -> ScriptedMessage:
    """An outbound SMS: queued, sent, then delivered / undelivered, or failed outright."""
    final, _, error = rng.choices(MESSAGE_OUTCOMES, [w for _, w, _ in MESSAGE_OUTCOMES])[0]
    sid = new_sid("SM", rng)
    truth = MessageTruth(
        sid,
        account_sid,
        _number(rng, "+1415555"),
        _number(rng, "+1650555"),
        final,
        start,
        rng.choice((1, 1, 2)),
        error,
    )
    steps = [(0.0, "queued")]
    if final != "failed":
        steps.append((rng.uniform(0.2, 1), "sent"))
    steps.append((steps[-1][0] + rng.uniform(0.5, 3), final))
    base = {
        "AccountSid": account_sid,
        "MessageSid": sid,
        "SmsSid": sid,
        "From": truth.from_number,
        "To": truth.to_number,
        "ApiVersion": API_VERSION,
    }
    callbacks = []
    for at, status in steps:
        params = {**base, "MessageStatus": status, "SmsStatus": status}
        if status == final and error is not None:
            params["ErrorCode"] = str(error)
        callbacks.append(Callback(at / speed, params, "messaging"))
    return ScriptedMessage(sid, callbacks, truth, steps, speed)
