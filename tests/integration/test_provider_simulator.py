"""The simulator speaks Twilio's REST wire protocol: the official SDK lists, pages, filters
and fetches calls, recordings and messages, gets Twilio's errors, and places calls whose
lifecycles post signed callbacks to the StatusCallback it was given."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from provider import NOWHERE, free_port, running_provider, sdk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator

from adapters.twilio.simulator import ProviderSimulator

ACCOUNT = "AC" + "5" * 32
TOKEN = "simulator-token"


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[ProviderSimulator, str]]:
    sim = ProviderSimulator(NOWHERE, ACCOUNT, TOKEN, seed=7, speed=1000, message_share=0.5)
    with running_provider(sim, calls=60) as base_url:
        time.sleep(0.3)  # prices and recordings settle a few simulated seconds after the end
        yield sim, base_url


def test_calls_page_through_next_page_uri_in_twilios_envelope(
    provider: tuple[ProviderSimulator, str],
) -> None:
    sim, base = provider
    auth = (ACCOUNT, TOKEN)
    url = f"{base}/2010-04-01/Accounts/{ACCOUNT}/Calls.json?PageSize=7"
    seen: list[str] = []
    pages = 0
    while url:
        body = httpx.get(url, auth=auth).json()
        assert set(body) == {
            "calls",
            "end",
            "first_page_uri",
            "next_page_uri",
            "page",
            "page_size",
            "previous_page_uri",
            "start",
            "uri",
        }
        assert body["page"] == pages
        assert len(body["calls"]) <= 7
        seen += [c["sid"] for c in body["calls"]]
        pages += 1
        url = base + body["next_page_uri"] if body["next_page_uri"] else ""
    assert len(seen) == len(set(seen)) == len(sim.records.calls)
    assert pages == -(-len(seen) // 7)
    # The SDK follows the same links.
    assert {c.sid for c in sdk(sim, base).calls.stream(page_size=7)} == set(seen)


def test_call_filters_match_the_truth(provider: tuple[ProviderSimulator, str]) -> None:
    sim, base = provider
    client = sdk(sim, base)
    truth = sim.truth()["calls"]
    busy = {sid for sid, t in truth.items() if t["status"] == "busy"}
    assert busy
    assert {c.sid for c in client.calls.list(status="busy", page_size=1000)} == busy
    child = next(sid for sid, t in truth.items() if t["parent_call_sid"])
    parent = truth[child]["parent_call_sid"]
    assert [c.sid for c in client.calls.list(parent_call_sid=parent)] == [child]
    one = sim.records.calls[parent].script.truth
    assert {c.sid for c in client.calls.list(to=one.to_number, from_=one.from_number)} >= {parent}
    now = datetime.now(UTC)
    assert client.calls.list(start_time_after=now + timedelta(hours=1)) == []
    assert len(client.calls.list(start_time_after=now - timedelta(hours=1))) == len(truth)
    assert len(client.calls.list(start_time_before=now - timedelta(hours=1))) == 0
    assert len(client.calls.list(end_time_after=now - timedelta(hours=1))) == len(truth)


def test_fetched_calls_recordings_and_messages_equal_the_truth(
    provider: tuple[ProviderSimulator, str],
) -> None:
    sim, base = provider
    client = sdk(sim, base)
    truth = sim.truth()
    for sid, t in truth["calls"].items():
        call = client.calls(sid).fetch()
        assert call.status == t["status"]
        assert int(call.duration) == t["duration_seconds"]
        assert call.price == t["price"]
        assert call.answered_by == t["answered_by"]
        assert call.parent_call_sid == t["parent_call_sid"]
        recordings = client.calls(sid).recordings.list()
        if t["recording_sid"] is None:
            assert recordings == []
            continue
        (rec,) = recordings
        assert (rec.sid, rec.status, rec.channels) == (
            t["recording_sid"],
            t["recording_status"],
            t["recording_channels"],
        )
        fetched = client.recordings(rec.sid).fetch()
        assert (fetched.call_sid, fetched.media_url) == (sid, t["recording_url"])
    recorded = {t["recording_sid"] for t in truth["calls"].values() if t["recording_sid"]}
    assert {r.sid for r in client.recordings.list(page_size=5)} == recorded
    assert truth["messages"]
    for sid, m in truth["messages"].items():
        message = client.messages(sid).fetch()
        assert (message.status, message.error_code) == (m["status"], m["error_code"])
    assert {m.sid for m in client.messages.list(page_size=3)} == set(truth["messages"])


def test_errors_are_twilios(provider: tuple[ProviderSimulator, str]) -> None:
    sim, base = provider
    some_call = next(iter(sim.records.calls))
    with pytest.raises(TwilioRestException) as denied:
        sdk(sim, base, token="wrong").calls(some_call).fetch()
    assert (denied.value.status, denied.value.code) == (401, 20003)
    with pytest.raises(TwilioException) as unlisted:  # the SDK's list raises the plain kind
        sdk(sim, base, token="wrong").calls.list()
    assert unlisted.value.args[1].status_code == 401
    with pytest.raises(TwilioRestException) as missing:
        sdk(sim, base).calls("CA" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)
    too_big = httpx.get(
        f"{base}/2010-04-01/Accounts/{ACCOUNT}/Calls.json?PageSize=1001", auth=(ACCOUNT, TOKEN)
    )
    assert too_big.status_code == 400
    assert set(too_big.json()) == {"code", "message", "more_info", "status"}
    other = httpx.get(f"{base}/2010-04-01/Accounts/AC{'6' * 32}/Calls.json", auth=(ACCOUNT, TOKEN))
    assert other.status_code == 404
    with pytest.raises(TwilioRestException) as no_to:
        sdk(sim, base).calls.create(to="", from_="+14155550100", url="https://x.test/twiml")
    assert no_to.value.code == 21201


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bool]]]]:
    """A webhook receiver that records each callback and whether its signature is valid."""
    got: list[tuple[str, dict[str, str], bool]] = []
    validator = RequestValidator(TOKEN)

    async def hook(request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode()))
        valid = validator.validate(str(request.url), params, request.headers["X-Twilio-Signature"])
        got.append((request.url.path, params, valid))
        return Response(status_code=204)

    port = free_port()
    app = Starlette(routes=[Route("/{kind}", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", got
    server.should_exit = True
    thread.join(10)


def test_a_placed_call_plays_its_lifecycle_to_its_status_callback(
    receiver: tuple[str, list[tuple[str, dict[str, str], bool]]],
) -> None:
    hook, got = receiver
    sim = ProviderSimulator(NOWHERE, ACCOUNT, TOKEN, seed=11, speed=200)
    with running_provider(sim, calls=0) as base:
        client = sdk(sim, base)
        placed: list[Any] = [
            client.calls.create(
                to=f"+1650555{i:04d}",
                from_="+14155550100",
                url="https://example.test/twiml",
                status_callback=f"{hook}/voice-status",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                machine_detection="Enable",
                record=True,
                recording_status_callback=f"{hook}/recording-status",
            )
            for i in range(12)
        ]
        assert all(c.status == "queued" and c.direction == "outbound-api" for c in placed)
        truth = sim.truth()["calls"]
        deadline = time.monotonic() + 10
        finals = {s for s, t in truth.items()}
        while time.monotonic() < deadline:
            ended = {
                p["CallSid"]
                for path, p, _ in got
                if path == "/voice-status" and p["CallStatus"] == truth[p["CallSid"]]["status"]
            }
            if ended == finals:
                break
            time.sleep(0.05)
        assert ended == finals
        time.sleep(0.1)  # recordings finish a few simulated seconds later
        assert all(valid for _, _, valid in got)
        for c in placed:
            t = truth[c.sid]
            voice = [p for path, p, _ in got if path == "/voice-status" and p["CallSid"] == c.sid]
            sequence = [int(p["SequenceNumber"]) for p in voice]
            assert sequence == sorted(sequence)
            assert voice[-1]["CallStatus"] == t["status"] == client.calls(c.sid).fetch().status
            if t["status"] == "completed":
                assert voice[-1]["AnsweredBy"] == t["answered_by"]
                assert voice[-1]["CallDuration"] == str(t["duration_seconds"])
            if t["recording_sid"]:
                done = [
                    p
                    for path, p, _ in got
                    if path == "/recording-status" and p["RecordingSid"] == t["recording_sid"]
                ]
                assert done[-1]["RecordingStatus"] == "completed"
                assert done[-1]["RecordingUrl"] == t["recording_url"]
        assert any(truth[c.sid]["recording_sid"] for c in placed)


def test_a_seed_repeats_a_run() -> None:
    def run(seed: int) -> dict[str, Any]:
        sim = ProviderSimulator(NOWHERE, ACCOUNT, TOKEN, seed=seed, speed=1000)
        asyncio.run(sim.run(10, 1000))
        return dict(sim.truth()["calls"])

    assert run(3) == run(3)
    assert run(3) != run(4)
