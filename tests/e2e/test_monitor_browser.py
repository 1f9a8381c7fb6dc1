"""The live monitor in headless Chromium (Debian's, driven by Playwright) against the running
app on real engines: webhooks show up within a second, and when the stream is cut (the server
restarts, or the stream is refused and the page falls back to polling) the page recovers by
itself and shows every event exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from adapters.embedded.processes import free_port
from adapters.postgres.projects import Project
from entrypoints.api.app import create_app
from entrypoints.settings import Settings
from entrypoints.workers.run import run_worker
from live_server import live_server
from support import post_callback, voice_callback

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
    *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
]


@contextlib.contextmanager
def worker(settings: Settings) -> Iterator[None]:
    """Inbox worker, relay and projections on their own event loop, as `serve worker` runs."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await run_worker(settings, box["stop"])

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="worker", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


@pytest.fixture
def browser_page() -> Iterator[Page]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


class Provider:
    """Posts callbacks signed as Twilio would, to the ingest server, one sequence per call."""

    def __init__(self, project: Project, base_url: str) -> None:
        self.project, self.base_url = project, base_url
        self.sequence: dict[str, int] = {}

    def send(self, call_sid: str, status: str) -> None:
        seq = self.sequence[call_sid] = self.sequence.get(call_sid, -1) + 1
        params = voice_callback(self.project.twilio_account_sid, call_sid, status, seq)
        with httpx.Client() as client:
            r = post_callback(client, self.base_url, self.project.twilio_auth_token, params)
        assert r.status_code == 200, r.text


def stored_positions(database_url: str, project_id: str, after: int) -> list[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT position FROM call_events WHERE project_id = %s AND position > %s"
            " ORDER BY position",
            (project_id, after),
        ).fetchall()
    return [int(r[0]) for r in rows]


def rendered_positions(page: Page) -> list[int]:
    """The page's event list is newest first; oldest first here, repeats kept."""
    shown = page.eval_on_selector_all("#events li", "els => els.map(e => +e.dataset.position)")
    return list(reversed(shown))


def expect_same_events(page: Page, database_url: str, project_id: str) -> None:
    """Eventually the page shows exactly the store's events since it opened, in order."""
    start = int(page.eval_on_selector("body", "b => b.dataset.startPosition"))
    deadline = time.monotonic() + 15
    while True:
        stored = stored_positions(database_url, project_id, start)
        shown = rendered_positions(page)
        if shown == stored or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert shown == stored, f"page {shown} != store {stored}"


def row(page: Page, call_sid: str, status: str) -> Any:
    return page.locator(f'tr[data-sid="{call_sid}"][data-status="{status}"]')


@pytest.fixture
def stack(settings: Settings, nats_url: str) -> Iterator[Settings]:
    full = settings.model_copy(update={"nats_url": nats_url})
    with worker(full):
        yield full


def test_webhooks_reach_the_monitor_within_a_second_and_survive_a_server_restart(
    stack: Settings, project: tuple[Project, str], browser_page: Page
) -> None:
    proj, key = project
    page, port = browser_page, free_port()
    # No delta feed here: recovery must come from the stream resuming after the last id
    # (the other test covers the fallback).
    page.route("**/api/events?**", lambda route: route.abort())
    # A second API replica takes the provider's callbacks, so they keep coming while the
    # monitor's server is down (as behind a load balancer).
    with live_server(create_app(stack, run_clickhouse_projection=False)) as ingest:
        provider = Provider(proj, ingest)
        with live_server(create_app(stack, run_clickhouse_projection=False), port) as base:
            page.goto(f"{base}/monitor#key={key}")
            expect(page.locator("body")).to_have_attribute("data-conn", "live")
            provider.send("CAwarm", "initiated")  # the first event pays for cold paths
            expect(row(page, "CAwarm", "initiated")).to_be_visible(timeout=10_000)

            started = time.monotonic()
            provider.send("CA1", "initiated")
            expect(row(page, "CA1", "initiated")).to_be_visible(timeout=1_000)
            assert time.monotonic() - started < 1.0
            provider.send("CA1", "ringing")
            expect(row(page, "CA1", "ringing")).to_be_visible(timeout=1_000)

        # The monitor's server is gone: the page says so, events go on without it.
        expect(page.locator("body")).not_to_have_attribute("data-conn", "live")
        provider.send("CA1", "in-progress")
        provider.send("CA2", "initiated")
        provider.send("CA2", "ringing")
        expect(page.locator("#stale")).to_be_visible(timeout=10_000)

        with live_server(create_app(stack, run_clickhouse_projection=False), port):
            expect(row(page, "CA2", "ringing")).to_be_visible(timeout=20_000)
            expect(row(page, "CA1", "in-progress")).to_be_visible()
            expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
            expect(page.locator("#stale")).to_be_hidden()
            provider.send("CA1", "completed")
            expect(page.locator('tr[data-sid="CA1"]')).to_have_count(0, timeout=1_000)
            expect_same_events(page, stack.database_url or "", proj.id)

            page.locator('tr[data-sid="CA2"]').click()  # the timeline comes from the API
            expect(page.locator("#timeline li")).to_have_count(3)
            expect(page.locator("#timeline li").last).to_contain_text("ringing")


def test_when_the_stream_keeps_failing_the_page_polls_the_delta_feed_then_streams_again(
    stack: Settings, project: tuple[Project, str], browser_page: Page
) -> None:
    proj, key = project
    page = browser_page
    refused = True
    page.route(
        "**/realtime/stream**",
        lambda route: route.abort() if refused else route.continue_(),
    )
    with live_server(create_app(stack, run_clickhouse_projection=False)) as base:
        provider = Provider(proj, base)
        page.goto(f"{base}/monitor#key={key}")
        expect(page.locator("body")).to_have_attribute("data-conn", "polling", timeout=10_000)
        provider.send("CA7", "initiated")
        provider.send("CA7", "ringing")
        expect(row(page, "CA7", "ringing")).to_be_visible(timeout=5_000)

        refused = False
        expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=15_000)
        provider.send("CA7", "in-progress")
        expect(row(page, "CA7", "in-progress")).to_be_visible(timeout=1_000)
        expect_same_events(page, stack.database_url or "", proj.id)
