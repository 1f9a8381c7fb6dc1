"""The provider's own records, rendered as Twilio REST resources at the moment they are read.

A call's REST state follows its lifecycle in (scaled) time, whatever happened to its
callbacks: that is what makes reconcile able to repair what the callbacks lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.twilio.simulator.lifecycles import (
    API_VERSION,
    PRICE_DELAY_S,
    ScriptedCall,
    ScriptedMessage,
    rfc2822,
)

REST_STATUS = {"initiated": "queued"}  # callback-only status; REST shows queued


@dataclass
class LiveCall:
    script: ScriptedCall
    epoch: datetime  # the scenario's start (provider time)
    began: float  # time.monotonic() at the scenario's start

    def elapsed(self, now: float) -> float:
        """Simulated seconds since the scenario's start."""
        return (now - self.began) * self.script.speed

    def status(self, now: float) -> str:
        current = "queued"
        for at, status in self.script.steps:
            if at <= self.elapsed(now):
                current = status
        return REST_STATUS.get(current, current)

    def is_final(self, now: float) -> bool:
        return self.elapsed(now) >= self.script.ends_at


@dataclass
class LiveMessage:
    script: ScriptedMessage
    began: float

    def status(self, now: float) -> str:
        elapsed = (now - self.began) * self.script.speed
        return [s for at, s in self.script.steps if at <= elapsed][-1]


class ProviderRecords:
    """Every call and message of one account, by SID, in creation order; the oldest are
    forgotten past `max_records` each (a demo runs for days)."""

    def __init__(self, account_sid: str, max_records: int = 200_000) -> None:
        self.account_sid = account_sid
        self.max_records = max_records
        self.calls: dict[str, LiveCall] = {}
        self.messages: dict[str, LiveMessage] = {}

    def add_call(self, script: ScriptedCall, epoch: datetime, began: float) -> None:
        self.calls[script.sid] = LiveCall(script, epoch, began)
        if len(self.calls) > self.max_records:
            del self.calls[next(iter(self.calls))]

    def add_message(self, script: ScriptedMessage, began: float) -> None:
        self.messages[script.sid] = LiveMessage(script, began)
        if len(self.messages) > self.max_records:
            del self.messages[next(iter(self.messages))]

    def _uri(self, tail: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/{tail}"

    def call_resource(self, sid: str, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        live = self.calls[sid]
        truth = live.script.truth
        final = live.is_final(now)
        elapsed = live.elapsed(now)
        ended_at = live.script.ends_at
        answered = any(s == "in-progress" and at <= elapsed for at, s in live.script.steps)
        priced = final and elapsed >= ended_at + PRICE_DELAY_S and truth.price is not None
        updated = live.epoch + timedelta(seconds=min(elapsed, ended_at))
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "parent_call_sid": truth.parent_call_sid,
            "date_created": rfc2822(truth.start_time),
            "date_updated": rfc2822(updated),
            "to": truth.to_number,
            "to_formatted": truth.to_number,
            "from": truth.from_number,
            "from_formatted": truth.from_number,
            "phone_number_sid": None,
            "status": live.status(now),
            "start_time": rfc2822(truth.start_time),
            "end_time": rfc2822(truth.end_time) if final else None,
            "duration": str(truth.duration) if final else None,
            "price": truth.price if priced else None,
            "price_unit": truth.price_unit,
            "direction": truth.direction,
            "answered_by": truth.answered_by if answered else None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": self._uri(f"Calls/{sid}.json"),
            "subresource_uris": {
                "recordings": self._uri(f"Calls/{sid}/Recordings.json"),
                "notifications": self._uri(f"Calls/{sid}/Notifications.json"),
            },
        }

    def recording_resources(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every recording that has started, newest call first."""
        now = time.monotonic() if now is None else now
        out: list[dict[str, Any]] = []
        for live in reversed(self.calls.values()):
            rec = live.script.truth.recording
            if rec is None or live.elapsed(now) < rec.started_at:
                continue
            done = live.elapsed(now) >= rec.done_at
            started = live.epoch + timedelta(seconds=rec.started_at)
            out.append(
                {
                    "sid": rec.sid,
                    "account_sid": self.account_sid,
                    "call_sid": live.script.sid,
                    "conference_sid": None,
                    "date_created": rfc2822(started),
                    "date_updated": rfc2822(started),
                    "start_time": rfc2822(started),
                    "duration": (None if rec.duration is None else str(rec.duration))
                    if done
                    else "-1",
                    "status": rec.status if done else "in-progress",
                    "channels": rec.channels,
                    "source": "OutboundAPI",
                    "track": "both",
                    "price": None,
                    "price_unit": "USD",
                    "error_code": 13617 if done and rec.status == "absent" else None,
                    "encryption_details": None,
                    "api_version": API_VERSION,
                    "media_url": rec.url,
                    "uri": self._uri(f"Recordings/{rec.sid}.json"),
                    "subresource_uris": {},
                }
            )
        return out

    def message_resource(self, sid: str, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        live = self.messages[sid]
        truth = live.script.truth
        status = live.status(now)
        final = status == truth.status
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": None,
            "from": truth.from_number,
            "to": truth.to_number,
            "body": "Simulated message",
            "num_segments": str(truth.segments),
            "num_media": "0",
            "direction": "outbound-api",
            "status": status,
            "date_created": rfc2822(truth.created_at),
            "date_updated": rfc2822(truth.created_at),
            "date_sent": rfc2822(truth.created_at) if status != "queued" else None,
            "price": f"{-0.0079 * truth.segments:.5f}" if final else None,
            "price_unit": "USD",
            "error_code": truth.error_code if final else None,
            "error_message": None,
            "api_version": API_VERSION,
            "uri": self._uri(f"Messages/{sid}.json"),
            "subresource_uris": {"media": self._uri(f"Messages/{sid}/Media.json")},
        }
