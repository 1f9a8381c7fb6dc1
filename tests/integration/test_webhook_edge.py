"""The webhook edge through the real app: URLs rebuilt behind proxies (signatures made by
the official twilio package over the public URL), the per-project rate limit, /metrics."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from apiclient import BASE_URL, serving
from prometheus_client.parser import text_string_to_metric_families

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.postgres.projects import Project
from entrypoints.settings import Settings
from entrypoints.workers.inbox import NORMALIZERS
from support import VOICE_PATH, apost_callback, signed_headers, voice_callback

CALL = "CA" + "5" * 32


def inbox_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()
    assert row is not None
    return int(row[0])


def post_signed_for(
    settings: Settings, token: str, params: dict[str, str], signed_url: str, **headers: str
) -> int:
    """POST to the in-process app while signing for `signed_url` (what the provider saw)."""

    async def scenario() -> int:
        async with serving(settings) as (client, _):
            response = await client.post(
                BASE_URL + VOICE_PATH,
                content=urlencode(params),
                headers={**signed_headers(token, signed_url, params), **headers},
            )
            return response.status_code

    return asyncio.run(scenario())


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "hooks.example.com",
}


@pytest.mark.parametrize(
    ("signed", "forwarded"),
    [
        ("https://hooks.example.com/webhooks/twilio/voice-status", FORWARDED),
        ("https://hooks.example.com:443/webhooks/twilio/voice-status", FORWARDED),
        (
            "https://hooks.example.com:8443/webhooks/twilio/voice-status",
            {**FORWARDED, "X-Forwarded-Port": "8443"},
        ),
        (
            "https://hooks.example.com/webhooks/twilio/voice-status",
            {**FORWARDED, "X-Forwarded-Port": "443"},
        ),
    ],
    ids=["no-port", "signed-with-default-port", "custom-port", "forwarded-default-port"],
)
def test_callbacks_through_a_trusted_proxy_validate_against_the_public_url(
    settings: Settings,
    project: tuple[Project, str],
    database_url: str,
    signed: str,
    forwarded: dict[str, str],
) -> None:
    proj, _ = project
    behind_proxy = settings.model_copy(update={"trusted_proxies": "127.0.0.1/32"})
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)

    assert post_signed_for(behind_proxy, proj.twilio_auth_token, params, signed, **forwarded) == 200
    assert inbox_rows(database_url) == 1


def test_forwarded_headers_from_an_untrusted_peer_do_not_make_a_signature_valid(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)
    public = "https://hooks.example.com/webhooks/twilio/voice-status"

    assert post_signed_for(settings, proj.twilio_auth_token, params, public, **FORWARDED) == 403
    assert inbox_rows(database_url) == 0


def test_the_configured_public_base_url_is_used_and_its_fragment_ignored(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    public = settings.model_copy(
        update={"public_base_url": "https://hooks.example.com/#rc=2&rp=all"}
    )
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)
    signed = "https://hooks.example.com/webhooks/twilio/voice-status"

    assert post_signed_for(public, proj.twilio_auth_token, params, signed) == 200
    assert post_signed_for(settings, proj.twilio_auth_token, params, signed) == 403
    assert inbox_rows(database_url) == 1


def test_a_project_over_its_rate_gets_429_with_retry_after_and_the_error_json(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    limited = settings.model_copy(update={"webhook_rate_per_second": 0.01, "webhook_rate_burst": 3})

    async def scenario() -> list[Any]:
        async with serving(limited) as (client, _):
            return [
                await apost_callback(
                    client,
                    BASE_URL,
                    proj.twilio_auth_token,
                    voice_callback(proj.twilio_account_sid, CALL, status, seq),
                )
                for seq, status in enumerate(["initiated", "ringing", "in-progress", "completed"])
            ]

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    limited_response = responses[-1]
    assert int(limited_response.headers["Retry-After"]) >= 1
    error = limited_response.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert error["human_how_to_fix"]
    assert len(error["details"]["trace_id"]) == 32
    assert inbox_rows(database_url) == 3


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_and_count_received_rejected_and_pending_webhooks(
    settings: Settings, project: tuple[Project, str]
) -> None:
    proj, _ = project
    token = proj.twilio_auth_token

    async def scenario() -> tuple[str, str]:
        async with serving(settings) as (client, _):
            before = (await client.get("/metrics")).text
            for seq in range(2):
                params = voice_callback(proj.twilio_account_sid, CALL, "ringing", seq)
                assert (await apost_callback(client, BASE_URL, token, params)).status_code == 200
            forged = voice_callback(proj.twilio_account_sid, CALL, "completed", 3)
            response = await client.post(
                VOICE_PATH,
                content=urlencode(forged),
                headers=signed_headers("wrong", BASE_URL + VOICE_PATH, forged),
            )
            assert response.status_code == 403
            response = await client.post(VOICE_PATH, content=b"CallSid=CA1")
            assert response.status_code == 400
            after = await client.get("/metrics")
            assert after.headers["content-type"].startswith("text/plain")
            return before, after.text

    before, after = (samples(t) for t in asyncio.run(scenario()))
    voice = frozenset({("kind", "voice-status")})

    def moved(name: str, labels: frozenset[tuple[str, str]]) -> float:
        return after[(name, labels)] - before.get((name, labels), 0.0)

    assert moved("webhook_received_total", voice) == 4
    assert moved("webhook_invalid_signature_total", voice) == 1
    assert moved("webhook_rejected_total", voice | {("reason", "invalid_signature")}) == 1
    assert moved("webhook_rejected_total", voice | {("reason", "malformed")}) == 1
    assert after[("webhook_inbox_pending", frozenset())] == 2
    assert after[("webhook_inbox_dead", frozenset())] == 0
    assert ("realtime_publish_latency_ms_count", frozenset()) in after


def test_worker_latency_histogram_counts_each_processed_row_across_processes(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    """The worker (here in the test process) and the API share only PostgreSQL."""
    proj, _ = project
    token = proj.twilio_auth_token

    async def post_and_scrape() -> str:
        async with serving(settings) as (client, _):
            for seq in range(3):
                params = voice_callback(proj.twilio_account_sid, CALL, "ringing", seq)
                await apost_callback(client, BASE_URL, token, params)
            return (await client.get("/metrics")).text

    async def scrape() -> str:
        async with serving(settings) as (client, _):
            return (await client.get("/metrics")).text

    before = samples(asyncio.run(post_and_scrape()))
    store = PostgresEventStore(database_url)
    try:
        assert PostgresInboxWorker(store, NORMALIZERS).process_batch().claimed == 3
    finally:
        store.close()
    after = samples(asyncio.run(scrape()))
    count = ("worker_processing_latency_ms_count", frozenset())
    inf = ("worker_processing_latency_ms_bucket", frozenset({("le", "+Inf")}))
    assert before[count] == 0
    assert after[count] == 3
    assert after[inf] == 3
    assert after[("worker_processing_latency_ms_sum", frozenset())] > 0
    assert after[("webhook_inbox_pending", frozenset())] == 0


def test_realtime_publish_latency_counts_events_the_live_feed_hands_out(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    store = PostgresEventStore(database_url)

    async def scenario() -> tuple[float, float]:
        async with serving(settings) as (client, app):
            params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)
            await apost_callback(client, BASE_URL, proj.twilio_auth_token, params)
            before = samples((await client.get("/metrics")).text)
            await asyncio.to_thread(PostgresInboxWorker(store, NORMALIZERS).process_batch)
            events = await asyncio.to_thread(store.read, 0, None, 100)
            await app.state.services.calls.apply(events)
            count = ("realtime_publish_latency_ms_count", frozenset())
            for _ in range(100):
                after = samples((await client.get("/metrics")).text)
                if after[count] > before[count]:
                    break
                await asyncio.sleep(0.05)
            return before[count], after[count]

    try:
        published_before, published_after = asyncio.run(scenario())
    finally:
        store.close()
    assert published_before == 0
    assert published_after == 2  # the call's Created and its StatusObserved


def test_a_webhook_that_cannot_be_stored_gets_500_with_the_error_json_never_200(
    settings: Settings, project: tuple[Project, str], database_url: str
) -> None:
    proj, _ = project
    with psycopg.connect(database_url) as conn:  # every INSERT now fails, as on a full disk
        conn.execute("ALTER TABLE webhook_inbox ADD CONSTRAINT refuse CHECK (false) NOT VALID")
    params = voice_callback(proj.twilio_account_sid, CALL, "ringing", 1)

    async def scenario() -> Any:
        async with serving(settings) as (client, _):
            return await apost_callback(client, BASE_URL, proj.twilio_auth_token, params)

    response = asyncio.run(scenario())
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert response.headers["x-trace-id"] == error["details"]["trace_id"]
    assert inbox_rows(database_url) == 0
