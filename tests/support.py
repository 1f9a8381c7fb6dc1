"""Test helpers: callbacks signed by the official twilio package, as a provider would."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from adapters.postgres.inbox import InboxEntry
from adapters.twilio.callbacks import voice_dedupe_key

VOICE_PATH = "/webhooks/twilio/voice-status"


def voice_callback(
    account_sid: str,
    call_sid: str,
    status: str,
    sequence: int,
    at: datetime | None = None,
    **extra: str,
) -> dict[str, str]:
    when = at or datetime(2026, 11, 21, 12, 0, tzinfo=UTC) + timedelta(seconds=sequence)
    return {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "CallbackSource": "call-progress-events",
        "Timestamp": email.utils.format_datetime(when),
        "Direction": "outbound-api",
        "From": "+14155550100",
        "To": "+16505550199",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def voice_entry(
    project_id: str, account_sid: str, call_sid: str, status: str, sequence: int
) -> InboxEntry:
    """The inbox row the voice-status endpoint stores for `voice_callback(...)`."""
    fields = voice_callback(account_sid, call_sid, status, sequence)
    return InboxEntry(
        project_id=project_id,
        source="twilio",
        event_type="voice-status",
        dedupe_key=voice_dedupe_key(fields),
        payload=fields,
        trace_id="0" * 32,
        call_sid=call_sid,
    )


def signed_headers(token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def post_callback(
    client: httpx.Client, base_url: str, token: str, params: dict[str, str], **kw: Any
) -> httpx.Response:
    url = base_url + VOICE_PATH
    return client.post(
        url, content=urlencode(params), headers=signed_headers(token, url, params), **kw
    )


async def apost_callback(
    client: httpx.AsyncClient,
    base_url: str,
    token: str,
    params: dict[str, str],
    path: str = VOICE_PATH,
) -> httpx.Response:
    url = base_url + path
    return await client.post(
        url, content=urlencode(params), headers=signed_headers(token, url, params)
    )


def recording_callback(
    account_sid: str, call_sid: str, recording_sid: str, status: str, **extra: str
) -> dict[str, str]:
    """A recording status callback as the reference (section 2) describes it."""
    fields = {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}"
        f"/Recordings/{recording_sid}",
        "RecordingStatus": status,
        "RecordingChannels": "1",
        "RecordingSource": "OutboundAPI",
        "RecordingTrack": "both",
        "RecordingStartTime": "Sat, 21 Nov 2026 12:00:05 +0000",
    }
    if status == "completed":
        fields["RecordingDuration"] = "37"
    return {**fields, **extra}


def message_callback(
    account_sid: str, message_sid: str, status: str, **extra: str
) -> dict[str, str]:
    """A messaging status callback as the reference (section 3) describes it."""
    return {
        "AccountSid": account_sid,
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": "+14155550100",
        "To": "+16505550199",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def all_at_once(work: Callable[[], object], times: int) -> list[BaseException]:
    """Run `work` in `times` threads released together (processes starting at once); return
    what any of them raised."""
    start = threading.Barrier(times)
    errors: list[BaseException] = []

    def one() -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # returned for the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors
