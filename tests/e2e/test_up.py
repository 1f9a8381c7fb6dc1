"""`switchboard up` as a user runs it: embedded engines under ./var, killed and restarted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.embedded.postgres import EmbeddedPostgres
from adapters.embedded.processes import free_port
from support import post_callback, voice_callback

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
CALL = "CA" + "e" * 32
ACCOUNT = "AC" + "e" * 32
TOKEN = "e2e-auth-token"


def clean_env() -> dict[str, str]:
    """No engine URLs: `up` must start its own under ./var."""
    drop = {"DATABASE_URL", "NATS_URL", "CLICKHOUSE_URL"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("SB_")}


class Up:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (workdir / "up.log").open("ab")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "switchboard"), "up", "--port", str(self.port)],
            cwd=self.workdir,
            env=clean_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("switchboard up did not serve in time\n" + self.output())

    def output(self) -> str:
        return (self.workdir / "up.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def serving(self) -> bool:
        try:
            httpx.get(f"{self.base}/healthz", timeout=0.5)
        except httpx.HTTPError:
            return False
        return True

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [str(BIN / "switchboard"), *args],
            cwd=self.workdir,
            env=clean_env(),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    runner = Up(tmp_path)
    yield runner
    if runner.proc and runner.proc.poll() is None:
        runner.proc.kill()
    if (tmp_path / "var" / "postgres" / "postmaster.pid").exists():  # a failed test left it
        leftover = EmbeddedPostgres(tmp_path / "var")
        leftover.start()
        leftover.stop()
    shutil.rmtree(tmp_path / "var", ignore_errors=True)


def sse_events(base: str, key: str, after: int, until: int, timeout: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with httpx.stream(
        "GET",
        f"{base}/realtime/stream",
        params={"after": after},
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith(("id: ", "event: ", "data: ")):
                name, value = line.split(": ", 1)
                current[name] = value
            elif not line and "id" in current:
                events.append(
                    {
                        "id": int(current["id"]),
                        "event": current["event"],
                        "data": json.loads(current["data"]),
                    }
                )
                current = {}
                if len(events) >= until or time.monotonic() > deadline:
                    break
    return events


def clickhouse_rows(workdir: Path, call_sid: str) -> list[list[Any]]:
    """chDB serves one data path per process: read it from a separate process."""
    script = (
        "import clickhouse_connect, json, sys\n"
        f"c = clickhouse_connect.get_client(dsn='chdb://{workdir / 'var' / 'clickhouse'}')\n"
        "rows = c.query('SELECT position, event_type, status FROM call_events FINAL"
        f" WHERE call_sid = \\'{call_sid}\\' ORDER BY position').result_rows\n"
        "print(json.dumps([list(r) for r in rows]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_callback_acknowledged_before_sigkill_survives_restart_exactly_once(up: Up) -> None:
    up.start()
    created = json.loads(
        up.cli(
            "projects",
            "create",
            "--name",
            "e2e",
            "--twilio-account-sid",
            ACCOUNT,
            "--twilio-auth-token",
            TOKEN,
            "--json",
        )
    )
    key = created["api_key"]
    with httpx.Client(timeout=10) as client:
        response = post_callback(
            client, up.base, TOKEN, voice_callback(ACCOUNT, CALL, "initiated", 0)
        )
        assert response.status_code == 200
        up.kill()  # right after the 200: nothing past the inbox may have happened yet
    deadline = time.monotonic() + 10
    while up.serving():  # children die with the supervisor
        assert time.monotonic() < deadline, "API still serving after the supervisor was killed"
        time.sleep(0.1)

    up.start()  # same ./var: the data is kept
    with httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + 30
        while True:
            got = client.get(
                f"{up.base}/api/calls/{CALL}", headers={"Authorization": f"Bearer {key}"}
            )
            if got.status_code == 200:
                break
            assert time.monotonic() < deadline, up.output()
            time.sleep(0.2)
        assert got.json()["status"] == "initiated"
        assert got.json()["version"] == 2

        replay = sse_events(up.base, key, after=0, until=2, timeout=15)
        assert [e["event"] for e in replay] == ["call.created", "call.updated"]
        post_callback(client, up.base, TOKEN, voice_callback(ACCOUNT, CALL, "ringing", 1))
        resumed = sse_events(up.base, key, after=replay[-1]["id"], until=1, timeout=15)
        assert [e["data"]["payload"]["status"] for e in resumed] == ["ringing"]

    assert up.stop() == 0
    assert not up.serving()
    rows = clickhouse_rows(up.workdir, CALL)
    assert [r[1:] for r in rows] == [
        ["call.created", ""],
        ["call.updated", "initiated"],
        ["call.updated", "ringing"],
    ]
    assert [r[0] for r in rows] == [e["id"] for e in replay + resumed]
