"""The provider's REST API through the official `twilio` SDK, pointed at a project's
provider_api_url (the simulator, or Twilio itself when unset), read as domain facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from domain.call_reconcile import ProviderCall, ProviderRecording
from domain.message_reconcile import ProviderMessage

TWILIO_API = "https://api.twilio.com"
PAGE_SIZE = 1000  # Twilio's maximum: fewest round trips per window
# What a failing or unreachable provider raises through the SDK.
PROVIDER_ERRORS: tuple[type[Exception], ...] = (TwilioException, RequestException)


class ProviderHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's documented extension point: every request to api.twilio.com goes to
    `base_url` instead; paging (next_page_uri) goes through here too."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def provider_client(
    account_sid: str, auth_token: str, api_url: str | None, timeout: float = 10.0
) -> Client:
    return Client(
        account_sid,
        auth_token,
        http_client=ProviderHttpClient(api_url or TWILIO_API, timeout),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def to_provider_call(c: Any, recordings: tuple[ProviderRecording, ...] = ()) -> ProviderCall:
    return ProviderCall(
        call_sid=c.sid,
        status=str(c.status),
        direction=_str(c.direction),
        from_number=_str(c._from),
        to_number=_str(c.to),
        parent_call_sid=_str(c.parent_call_sid),
        start_time=c.start_time if isinstance(c.start_time, datetime) else None,
        end_time=c.end_time if isinstance(c.end_time, datetime) else None,
        duration_seconds=_int(c.duration),
        price=_str(c.price),
        price_unit=_str(c.price_unit),
        answered_by=_str(c.answered_by),
        recordings=recordings,
    )


def to_provider_recording(r: Any, api_base: str = TWILIO_API) -> ProviderRecording:
    """The call-level resource has no media_url; Twilio's canonical one (what
    RecordingUrl carries) is built from the account and the SID then."""
    duration = _int(r.duration)
    media = getattr(r, "media_url", None) or (
        f"{api_base.rstrip('/')}/2010-04-01/Accounts/{r.account_sid}/Recordings/{r.sid}"
    )
    return ProviderRecording(
        recording_sid=r.sid,
        status=str(r.status),
        url=media,
        duration_seconds=duration if duration is not None and duration >= 0 else None,
        channels=_int(r.channels),
        started_at=r.start_time if isinstance(r.start_time, datetime) else None,
    )


def fetch_call(client: Client, call_sid: str) -> ProviderCall | None:
    """One call with its recordings; None when the provider does not know it."""
    try:
        call = client.calls(call_sid).fetch()
        recordings = client.calls(call_sid).recordings.list(page_size=PAGE_SIZE)
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise
    base = client.http_client.base_url
    return to_provider_call(call, tuple(to_provider_recording(r, base) for r in recordings))


def fetch_status(client: Client, call_sid: str) -> ProviderCall | None:
    """One call without its recordings (the hot path: status only)."""
    try:
        return to_provider_call(client.calls(call_sid).fetch())
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise


def recordings_since(client: Client, since: datetime) -> dict[str, list[ProviderRecording]]:
    """The account's recordings created on or after `since`, by CallSid."""
    by_call: dict[str, list[ProviderRecording]] = defaultdict(list)
    for r in client.recordings.stream(date_created_after=since, page_size=PAGE_SIZE):
        by_call[r.call_sid].append(to_provider_recording(r))
    return by_call


def calls_in_window(
    client: Client,
    *,
    started_after: datetime | None = None,
    ended_after: datetime | None = None,
    started_before: datetime | None = None,
) -> Iterator[Any]:
    """Calls by StartTime>= / EndTime>= / StartTime<=, page by page (SDK instances)."""
    kwargs: dict[str, Any] = {"page_size": PAGE_SIZE}
    if started_after is not None:
        kwargs["start_time_after"] = started_after
    if ended_after is not None:
        kwargs["end_time_after"] = ended_after
    if started_before is not None:
        kwargs["start_time_before"] = started_before
    yield from client.calls.stream(**kwargs)


def messages_sent_since(client: Client, since: datetime) -> Iterator[ProviderMessage]:
    """Messages sent on or after `since` (DateSent>=), page by page; never their text."""
    for m in client.messages.stream(date_sent_after=since, page_size=PAGE_SIZE):
        yield ProviderMessage(
            message_sid=m.sid,
            status=str(m.status),
            direction=_str(m.direction),
            from_address=_str(m.from_),
            to_address=_str(m.to),
            segments=_int(m.num_segments),
            error_code=_int(m.error_code),
            sent_at=m.date_sent if isinstance(m.date_sent, datetime) else None,
        )
