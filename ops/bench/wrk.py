"""The wrk load generator, driven by cycle.lua; installs the Debian package when allowed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ops.bench.load import LoadResult, SignedRequest

LUA_SCRIPT = Path(__file__).with_name("cycle.lua")


class Wrk:
    """wrk: a C event loop per thread, replaying requests pre-formatted by its Lua script."""

    name = "wrk"

    def __init__(self, executable: str, threads: int = 1) -> None:
        self.executable = executable
        self.threads = threads
        probe = subprocess.run([executable, "-v"], capture_output=True, text=True, check=False)
        banner = (probe.stdout + probe.stderr).strip().splitlines()
        self.version = banner[0].split(" Copyright")[0] if banner else "wrk"

    def describe(self, connections: int) -> str:
        threads = min(self.threads, connections)
        return f"{self.version}; {threads} thread(s), {connections} keep-alive connections"

    def run(
        self, url: str, requests: Sequence[SignedRequest], *, seconds: int, connections: int
    ) -> LoadResult:
        threads = min(self.threads, connections)
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as file:
            file.writelines(f"{r.signature}\t{r.idempotency_token}\t{r.body}\n" for r in requests)
        path = Path(file.name)
        command = [
            self.executable,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            f"--script={LUA_SCRIPT}",
            url,
            "--",
            str(path),
            str(threads),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        finally:
            path.unlink(missing_ok=True)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if done.returncode != 0 or line is None:
            msg = f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            raise RuntimeError(msg)
        data = json.loads(line.removeprefix("BENCH_JSON "))
        return LoadResult(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            errors=data["errors"],
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
        )


def _apt_get(*args: str) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "-y", "-q", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return done.returncode == 0


def find_wrk(*, install: bool) -> str | None:
    """wrk on PATH; if missing and allowed, as root, `apt-get install -y wrk` first."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk not found; running as root, so: apt-get install -y wrk", flush=True)
    if not _apt_get("install", "wrk"):
        _apt_get("update")
        _apt_get("install", "wrk")
    found = shutil.which("wrk")
    print(f"apt-get install wrk: {'installed at ' + found if found else 'failed'}", flush=True)
    return found
