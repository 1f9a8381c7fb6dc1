"""Twilio's REST wire protocol over the simulator's records, for the official SDK to call.

Paths under /2010-04-01/Accounts/{AccountSid}/, HTTP basic auth (AccountSid:AuthToken),
Twilio's page envelope with next_page_uri (PageSize <= 1000, Page, PageToken), RFC 2822
dates, and Twilio's error JSON ({code, message, more_info, status}).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.base import deserialize

from adapters.twilio.simulator.lifecycles import API_VERSION
from adapters.twilio.simulator.records import ProviderRecords

MAX_PAGE_SIZE = 1000
PlaceCall = Callable[[dict[str, list[str]]], Awaitable[dict[str, Any]]]


class RestError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "code": self.code,
                "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status,
            },
            status_code=self.status,
        )


def _parse_when(value: str) -> datetime:
    """A filter value: YYYY-MM-DD (that day, UTC) or an ISO 8601 time."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RestError(400, 20001, f"Invalid date {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _time_filters(query: Any, name: str) -> list[Callable[[datetime | None], bool]]:
    """Twilio's `Name>=x` arrives as key `Name>` (on or after); `Name<` is on or before."""
    tests: list[Callable[[datetime | None], bool]] = []
    if value := query.get(name):
        day = _parse_when(value).date()
        tests.append(lambda t: t is not None and t.date() == day)
    if value := query.get(f"{name}>"):
        low = _parse_when(value)
        tests.append(lambda t: t is not None and t >= low)
    if value := query.get(f"{name}<"):
        high = _parse_when(value)
        tests.append(lambda t: t is not None and t <= high)
    return tests


def _page(request: Request, key: str, records: list[dict[str, Any]]) -> JSONResponse:
    """Twilio's envelope; PageToken `PA<sid>` continues after that record."""
    q = request.query_params
    try:
        size = int(q.get("PageSize", "50"))
        number = int(q.get("Page", "0"))
    except ValueError as exc:
        raise RestError(400, 20001, "PageSize and Page must be integers") from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise RestError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    start = number * size
    if token := q.get("PageToken"):
        sids = [r["sid"] for r in records]
        after = token.removeprefix("PA")
        if after not in sids:
            raise RestError(400, 20001, "Invalid PageToken")
        start = sids.index(after) + 1
    chunk = records[start : start + size]
    filters = {k: v for k, v in q.items() if k not in ("PageSize", "Page", "PageToken")}

    def uri(page: int, token: str | None = None) -> str:
        params = {**filters, "PageSize": size, "Page": page}
        if token:
            params["PageToken"] = token
        return f"{request.url.path}?{urlencode(params)}"

    more = start + size < len(records)
    return JSONResponse(
        {
            key: chunk,
            "end": start + len(chunk) - 1 if chunk else start,
            "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1, f"PA{chunk[-1]['sid']}") if more else None,
            "page": number,
            "page_size": size,
            "previous_page_uri": uri(number - 1) if number > 0 else None,
            "start": start,
            "uri": uri(number, q.get("PageToken")),
        }
    )


def _matches(record: dict[str, Any], filters: dict[str, str | None]) -> bool:
    return all(value is None or record.get(field) == value for field, value in filters.items())


def _times(records: Iterable[dict[str, Any]], query: Any, name: str, field: str) -> list[Any]:
    tests = _time_filters(query, name)
    return [
        r for r in records if all(t(deserialize.rfc2822_datetime(r[field] or "")) for t in tests)
    ]


def rest_app(records: ProviderRecords, auth_token: str, place_call: PlaceCall) -> Starlette:
    account = records.account_sid
    prefix = f"/{API_VERSION}/Accounts/{{AccountSid}}"

    def guard(handler: Callable[[Request], Awaitable[JSONResponse]]) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                _authenticate(request, account, auth_token)
                if request.path_params["AccountSid"] != account:
                    raise RestError(
                        404, 20404, f"The requested resource {request.url.path} was not found"
                    )
                return await handler(request)
            except RestError as exc:
                return exc.response()

        return endpoint

    def not_found(request: Request) -> RestError:
        return RestError(404, 20404, f"The requested resource {request.url.path} was not found")

    async def list_calls(request: Request) -> JSONResponse:
        q = request.query_params
        calls = [records.call_resource(sid) for sid in reversed(records.calls)]
        wanted = {
            "status": q.get("Status"),
            "to": q.get("To"),
            "from": q.get("From"),
            "parent_call_sid": q.get("ParentCallSid"),
        }
        calls = [c for c in calls if _matches(c, wanted)]
        calls = _times(calls, q, "StartTime", "start_time")
        calls = _times(calls, q, "EndTime", "end_time")
        return _page(request, "calls", calls)

    async def create_call(request: Request) -> JSONResponse:
        params: dict[str, list[str]] = {}
        for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            params.setdefault(name, []).append(value)
        if not any(params.get("To", [])):
            raise RestError(400, 21201, "No 'To' number is specified")
        if not any(params.get("From", [])):
            raise RestError(400, 21213, "No 'From' number is specified")
        if not (params.get("Url") or params.get("Twiml") or params.get("ApplicationSid")):
            raise RestError(400, 21205, "Url, Twiml or ApplicationSid is required")
        return JSONResponse(await place_call(params), status_code=201)

    async def fetch_call(request: Request) -> JSONResponse:
        sid = request.path_params["CallSid"]
        if sid not in records.calls:
            raise not_found(request)
        return JSONResponse(records.call_resource(sid))

    async def list_recordings(request: Request) -> JSONResponse:
        call_sid = request.path_params.get("CallSid") or request.query_params.get("CallSid")
        if request.path_params.get("CallSid") and call_sid not in records.calls:
            raise not_found(request)
        recordings = [
            r for r in records.recording_resources() if _matches(r, {"call_sid": call_sid})
        ]
        recordings = _times(recordings, request.query_params, "DateCreated", "date_created")
        return _page(request, "recordings", recordings)

    async def fetch_recording(request: Request) -> JSONResponse:
        sid = request.path_params["RecordingSid"]
        for rec in records.recording_resources():
            if rec["sid"] == sid:
                return JSONResponse(rec)
        raise not_found(request)

    async def list_messages(request: Request) -> JSONResponse:
        q = request.query_params
        messages = [records.message_resource(sid) for sid in reversed(records.messages)]
        messages = [m for m in messages if _matches(m, {"to": q.get("To"), "from": q.get("From")})]
        messages = _times(messages, q, "DateSent", "date_sent")
        return _page(request, "messages", messages)

    async def fetch_message(request: Request) -> JSONResponse:
        sid = request.path_params["MessageSid"]
        if sid not in records.messages:
            raise not_found(request)
        return JSONResponse(records.message_resource(sid))

    routes = [
        Route(f"{prefix}/Calls.json", guard(list_calls), methods=["GET"]),
        Route(f"{prefix}/Calls.json", guard(create_call), methods=["POST"]),
        Route(f"{prefix}/Calls/{{CallSid}}.json", guard(fetch_call), methods=["GET"]),
        Route(f"{prefix}/Calls/{{CallSid}}/Recordings.json", guard(list_recordings)),
        Route(f"{prefix}/Recordings.json", guard(list_recordings), methods=["GET"]),
        Route(f"{prefix}/Recordings/{{RecordingSid}}.json", guard(fetch_recording)),
        Route(f"{prefix}/Messages.json", guard(list_messages), methods=["GET"]),
        Route(f"{prefix}/Messages/{{MessageSid}}.json", guard(fetch_message)),
    ]
    return Starlette(routes=routes)


def _authenticate(request: Request, account: str, token: str) -> None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    if scheme.lower() != "basic" or not (
        hmac.compare_digest(user, account) and hmac.compare_digest(password, token)
    ):
        raise RestError(401, 20003, "Authenticate")
