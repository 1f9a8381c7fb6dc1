"""Recording and messaging callbacks end to end: signed POST -> inbox row (natural key,
idempotency token beside it) -> worker -> the Call or Message aggregate in the store."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from apiclient import BASE_URL, serving
from psycopg.rows import dict_row

from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project
from domain.call import call_id
from domain.message import message_id
from entrypoints.settings import Settings
from entrypoints.workers.inbox import NORMALIZERS
from support import apost_callback, message_callback, recording_callback, signed_headers

CALL = "CA" + "2" * 32
RECORDING = "RE" + "3" * 32
MESSAGE = "SM" + "4" * 32
RECORDING_PATH = "/webhooks/twilio/recording-status"
MESSAGING_PATH = "/webhooks/twilio/messaging-status"


def inbox(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT event_type, dedupe_key, call_sid, recording_sid, message_sid,"
            " idempotency_token, processing_status, outcome, outcome_reason"
            " FROM webhook_inbox ORDER BY id"
        ).fetchall()


def post_all(settings: Settings, token: str, posts: list[tuple[str, dict[str, str]]]) -> list[int]:
    async def scenario() -> list[int]:
        async with serving(settings) as (client, _):
            codes = []
            for path, params in posts:
                url = BASE_URL + path
                response = await client.post(
                    url,
                    content=urlencode(params),
                    headers={
                        **signed_headers(token, url, params),
                        "I-Twilio-Idempotency-Token": f"token-{len(codes)}",
                    },
                )
                codes.append(response.status_code)
            return codes

    return asyncio.run(scenario())


def test_recording_callbacks_update_the_calls_recording_once_each(
    settings: Settings, project: tuple[Project, str], database_url: str, store: Any
) -> None:
    proj, _ = project
    sid = proj.twilio_account_sid
    in_progress = recording_callback(sid, CALL, RECORDING, "in-progress")
    completed = recording_callback(sid, CALL, RECORDING, "completed")
    posts = [(RECORDING_PATH, completed), (RECORDING_PATH, in_progress)]
    posts.append((RECORDING_PATH, completed))  # a retry

    assert post_all(settings, proj.twilio_auth_token, posts) == [200, 200, 200]
    rows = inbox(database_url)
    assert [r["dedupe_key"] for r in rows] == [
        f"recording:{CALL}:{RECORDING}:completed",
        f"recording:{CALL}:{RECORDING}:in-progress",
    ]
    assert rows[0]["idempotency_token"] == "token-0"
    assert (rows[0]["call_sid"], rows[0]["recording_sid"]) == (CALL, RECORDING)

    report = PostgresInboxWorker(store, NORMALIZERS).process_batch()

    # Completed first; the late in-progress must not roll the recording back.
    assert report.outcomes == {"applied": 1, "ignored": 1}
    assert [r["outcome_reason"] for r in inbox(database_url)] == [None, "stale"]
    call = store.aggregate(call_id(proj.id, CALL))
    assert call.recordings == {RECORDING: "completed"}


def test_messaging_callbacks_move_the_message_forward_and_never_back(
    settings: Settings, project: tuple[Project, str], database_url: str, store: Any
) -> None:
    proj, _ = project
    sid = proj.twilio_account_sid
    posts = [
        (MESSAGING_PATH, message_callback(sid, MESSAGE, "sent")),
        (MESSAGING_PATH, message_callback(sid, MESSAGE, "delivered", RawDlrDoneDate="2611211201")),
        (MESSAGING_PATH, message_callback(sid, MESSAGE, "queued")),
        (MESSAGING_PATH, message_callback(sid, MESSAGE, "sent")),  # a retry
    ]

    assert post_all(settings, proj.twilio_auth_token, posts) == [200] * 4
    keys = [r["dedupe_key"] for r in inbox(database_url)]
    assert keys == [
        f"message:{MESSAGE}:sent:-:-",
        f"message:{MESSAGE}:delivered:-:2611211201",
        f"message:{MESSAGE}:queued:-:-",
    ]
    assert inbox(database_url)[0]["message_sid"] == MESSAGE

    PostgresInboxWorker(store, NORMALIZERS).process_batch()

    message = store.aggregate(message_id(proj.id, MESSAGE))
    assert message.status == "delivered"
    assert message.channel == "sms"
    outcomes = [(r["outcome"], r["outcome_reason"]) for r in inbox(database_url)]
    assert outcomes[:2] == [("applied", None), ("applied", None)]
    assert outcomes[2][0] == "ignored"


def test_a_failed_message_records_its_error_code(
    settings: Settings, project: tuple[Project, str], store: Any
) -> None:
    proj, _ = project
    failed = message_callback(proj.twilio_account_sid, MESSAGE, "undelivered", ErrorCode="30003")
    assert post_all(settings, proj.twilio_auth_token, [(MESSAGING_PATH, failed)]) == [200]

    PostgresInboxWorker(store, NORMALIZERS).process_batch()

    message = store.aggregate(message_id(proj.id, MESSAGE))
    assert message.status == "undelivered"
    assert message.facts.error_code == 30003


@pytest.mark.parametrize(
    ("path", "params", "problem"),
    [
        (RECORDING_PATH, {"CallSid": CALL, "RecordingStatus": "completed"}, "RecordingSid"),
        (RECORDING_PATH, {"CallSid": CALL, "RecordingSid": RECORDING}, "RecordingStatus"),
        (MESSAGING_PATH, {"MessageSid": MESSAGE}, "MessageStatus"),
        (
            MESSAGING_PATH,
            {"MessageSid": MESSAGE, "MessageStatus": "failed", "ErrorCode": "x"},
            "ErrorCode",
        ),
    ],
)
def test_signed_but_incomplete_callbacks_get_400_and_store_nothing(
    settings: Settings,
    project: tuple[Project, str],
    database_url: str,
    path: str,
    params: dict[str, str],
    problem: str,
) -> None:
    proj, _ = project
    params = {"AccountSid": proj.twilio_account_sid, **params}

    async def scenario() -> dict[str, Any]:
        async with serving(settings) as (client, _):
            response = await apost_callback(client, BASE_URL, proj.twilio_auth_token, params, path)
            assert response.status_code == 400
            body: dict[str, Any] = response.json()
            return body

    body = asyncio.run(scenario())
    assert body["error"]["code"] == "WEBHOOK_MALFORMED"
    assert any(problem in p for p in body["error"]["details"]["problems"])
    assert inbox(database_url) == []
