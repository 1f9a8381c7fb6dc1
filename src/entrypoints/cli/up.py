"""`switchboard up`: engines, API, worker, relay and projections on one machine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets

import httpx

from adapters.postgres.projects import (
    create_project,
    find_project_by_account,
    issue_api_key,
    set_provider_api_url,
)
from adapters.twilio.simulator import ProviderSimulator
from entrypoints.bootstrap import start_engines
from entrypoints.cli.supervisor import Supervisor
from entrypoints.settings import Settings
from entrypoints.workers.layout import UP_COMPONENTS

log = logging.getLogger("switchboard.up")
DEMO_ACCOUNT_SID = "AC" + "de" * 16


def demo_project(database_url: str, provider_api_url: str) -> tuple[str, str, str]:
    """The demo project (created once) and a fresh API key; returns (id, token, key).
    Its provider API is the simulator's, so reconcile works in the demo."""
    project = find_project_by_account(database_url, DEMO_ACCOUNT_SID)
    if project is None:
        project, key = create_project(
            database_url,
            name="demo",
            twilio_account_sid=DEMO_ACCOUNT_SID,
            twilio_auth_token=secrets.token_hex(16),
            provider_api_url=provider_api_url,
        )
    else:
        set_provider_api_url(database_url, project.id, provider_api_url)
        key = issue_api_key(database_url, project.id)
    return project.id, project.twilio_auth_token, key


async def wait_until_serving(base_url: str, stop: asyncio.Event, timeout: float = 60.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=1.0) as client:
        while not stop.is_set() and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{base_url}/healthz")).status_code == 200:
                    return True
            await asyncio.sleep(0.2)
    return False


def up(settings: Settings, *, demo: bool, demo_rate: float) -> int:
    engines = start_engines(settings)
    base_url = f"http://{settings.host}:{settings.port}"
    env = {
        **os.environ,
        **engines.child_env(settings),
        "SB_HOST": settings.host,
        "SB_PORT": str(settings.port),
    }
    provider_port = settings.port + 1  # the simulator's REST API, for reconcile
    provider_url = f"http://{settings.host}:{provider_port}"
    demo_info = demo_project(engines.database_url, provider_url) if demo else None

    async def main() -> None:
        supervisor = Supervisor(UP_COMPONENTS, env)
        supervisor.install_signal_handlers()
        sim = provider = simulator = None
        if demo_info:  # the provider API answers before the worker's first reconcile
            sim = ProviderSimulator(
                f"{base_url}/webhooks/twilio/voice-status",
                DEMO_ACCOUNT_SID,
                demo_info[1],
                message_share=0.2,
            )
            provider = asyncio.create_task(sim.serve(settings.host, provider_port, supervisor.stop))
        running = asyncio.create_task(supervisor.run())
        if await wait_until_serving(base_url, supervisor.stop):
            print(f"\nSwitchboard is up: {base_url}  (Ctrl-C stops everything)", flush=True)
            print(f"  API docs:      {base_url}/docs", flush=True)
            if demo_info and sim:
                key = demo_info[2]
                print(f"  Demo API key:  {key}", flush=True)
                print(f"  Live monitor:  {base_url}/monitor#key={key}", flush=True)
                print(
                    f"  Simulator:     {demo_rate} calls/s, signed callbacks to "
                    f"{base_url}/webhooks/twilio/voice-status",
                    flush=True,
                )
                print(f"  Provider API:  {provider_url}  (reconcile reads it)\n", flush=True)
                simulator = asyncio.create_task(sim.run(0, demo_rate, supervisor.stop))
        await running
        if simulator:  # stop the traffic before the API that receives it
            simulator.cancel()
            await asyncio.gather(simulator, return_exceptions=True)
        if provider:
            await asyncio.gather(provider, return_exceptions=True)
        await supervisor.shutdown()

    try:
        asyncio.run(main())
    finally:
        engines.stop()
        log.info("stopped")
    return 0
