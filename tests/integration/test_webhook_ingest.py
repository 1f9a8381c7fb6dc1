"""The webhook request path: authenticate, store once, answer; reject with the error JSON."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from urllib.parse import urlencode

import psycopg
import pytest
from apiclient import BASE_URL, serving

from adapters.postgres.projects import Project
from entrypoints.observability import JsonFormatter
from entrypoints.settings import Settings
from support import VOICE_PATH, apost_callback, signed_headers, voice_callback

CALL = "CA" + "1" * 32


def inbox_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()
    assert row is not None
    return int(row[0])


def assert_error(body: dict[str, object], code: str) -> str:
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert error["human_title"]
    assert isinstance(error["human_how_to_fix"], list)
    assert error["human_how_to_fix"]
    trace_id = error["details"]["trace_id"]
    assert isinstance(trace_id, str)
    assert len(trace_id) == 32
    return trace_id


def test_signed_callback_is_stored_once_even_when_posted_twice(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            first = await apost_callback(client, BASE_URL, proj.twilio_auth_token, params)
            second = await apost_callback(client, BASE_URL, proj.twilio_auth_token, params)
            assert first.status_code == 200
            assert first.json() == {"stored": True}
            assert second.status_code == 200
            assert second.json() == {"stored": False, "duplicate": True}

    asyncio.run(scenario())
    assert inbox_rows(database_url) == 1


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("no-signature", "WEBHOOK_SIGNATURE_INVALID"),
        ("changed-param", "WEBHOOK_SIGNATURE_INVALID"),
        ("other-url", "WEBHOOK_SIGNATURE_INVALID"),
        ("wrong-token", "WEBHOOK_SIGNATURE_INVALID"),
        ("unknown-account", "WEBHOOK_ACCOUNT_UNKNOWN"),
    ],
)
def test_unauthenticated_callbacks_get_403_with_error_json_and_store_nothing(
    settings: Settings, project: tuple[Project, str], database_url: str, tamper: str, code: str
) -> None:
    proj, _ = project
    params = voice_callback(proj.twilio_account_sid, CALL, "completed", 3)
    url = BASE_URL + VOICE_PATH
    headers = signed_headers(proj.twilio_auth_token, url, params)
    if tamper == "no-signature":
        del headers["X-Twilio-Signature"]
    elif tamper == "changed-param":
        params = {**params, "CallStatus": "busy"}
    elif tamper == "other-url":
        headers = signed_headers(proj.twilio_auth_token, url + "?tenant=other", params)
    elif tamper == "wrong-token":
        headers = signed_headers("not-the-token", url, params)
    elif tamper == "unknown-account":
        params = {**params, "AccountSid": "AC" + "f" * 32}
        headers = signed_headers(proj.twilio_auth_token, url, params)

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            response = await client.post(url, content=urlencode(params), headers=headers)
            assert response.status_code == 403
            assert_error(response.json(), code)

    asyncio.run(scenario())
    assert inbox_rows(database_url) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "signed"),
    [
        (b"not a form at all \xff\xfe", "application/x-www-form-urlencoded", False),
        (b"{}", "text/plain", False),
        (b"CallSid=CA1&CallStatus=ringing", "application/x-www-form-urlencoded", False),
        (None, "application/x-www-form-urlencoded", True),
    ],
    ids=["not-utf8", "wrong-content-type", "no-account-sid", "signed-but-bad-sequence"],
)
def test_malformed_callbacks_get_400_with_error_json_and_store_nothing(
    settings: Settings,
    project: tuple[Project, str],
    database_url: str,
    body: bytes | None,
    content_type: str,
    signed: bool,
) -> None:
    proj, _ = project
    url = BASE_URL + VOICE_PATH
    headers = {"Content-Type": content_type}
    if signed:
        params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)
        params["SequenceNumber"] = "first"
        headers = signed_headers(proj.twilio_auth_token, url, params)
        body = urlencode(params).encode()

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            response = await client.post(url, content=body, headers=headers)
            assert response.status_code == 400
            assert_error(response.json(), "WEBHOOK_MALFORMED")

    asyncio.run(scenario())
    assert inbox_rows(database_url) == 0


def test_body_over_64_kib_gets_413_and_stores_nothing(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1, Padding="x" * 65_600)
    url = BASE_URL + VOICE_PATH

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            response = await client.post(
                url,
                content=urlencode(params),
                headers=signed_headers(proj.twilio_auth_token, url, params),
            )
            assert response.status_code == 413
            assert_error(response.json(), "PAYLOAD_TOO_LARGE")

    asyncio.run(scenario())
    assert inbox_rows(database_url) == 0


def test_error_response_trace_id_is_the_one_in_the_json_log_line(
    settings: Settings, project: tuple[Project, str]
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("switchboard.api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def scenario() -> str:
        async with serving(settings) as (client, _):
            response = await client.post(
                VOICE_PATH, content=b"CallSid=CA1", headers={"traceparent": "garbage"}
            )
            return assert_error(response.json(), "WEBHOOK_MALFORMED")

    try:
        trace_id = asyncio.run(scenario())
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line.get("trace_id") == trace_id and line["status"] == 400 for line in lines)


def test_a_callers_traceparent_is_continued(
    settings: Settings, project: tuple[Project, str]
) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    async def scenario() -> None:
        async with serving(settings) as (client, _):
            response = await client.get(
                "/api/calls/CA0", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
            )
            assert response.status_code == 401
            assert assert_error(response.json(), "UNAUTHENTICATED") == trace
            assert response.headers["x-trace-id"] == trace

    asyncio.run(scenario())
