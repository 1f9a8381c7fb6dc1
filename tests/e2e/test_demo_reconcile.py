"""`make run` (`switchboard up --demo`): the demo project reads the simulator's REST API, so
reconcile works in the demo, and Ctrl-C still stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.embedded.processes import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def test_the_demo_reconciles_against_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NATS_URL", "CLICKHOUSE_URL"} and not k.startswith("SB_")
    }
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "switchboard"), "up", "--demo", "--port", str(port), "--demo-rate", "5"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        key = None
        deadline = time.monotonic() + 90
        while key is None and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            found = re.search(r"Demo API key:\s+(\S+)", log.read_text())
            key = found.group(1) if found else None
            time.sleep(0.2)
        assert key, log.read_text()[-3000:]
        assert f"Provider API:  http://127.0.0.1:{port + 1}" in log.read_text()
        auth = {"Authorization": f"Bearer {key}"}
        base = f"http://127.0.0.1:{port}"
        time.sleep(8)  # some calls end (a demo call lasts 10-45 s, so some are still active)
        hot = httpx.post(f"{base}/api/sync/reconcile/hot", headers=auth, timeout=60)
        assert hot.status_code == 200, hot.text
        assert hot.json()["not_found"] == 0  # the provider knows every call we know
        today = httpx.post(f"{base}/api/sync/today", headers=auth, timeout=60)
        assert today.status_code == 200, today.text
        assert today.json()["checked"] > 0
        jobs = httpx.get(f"{base}/api/sync/state", headers=auth, timeout=10).json()["jobs"]
        assert {"hot", "today"} <= {j["job_name"] for j in jobs}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
