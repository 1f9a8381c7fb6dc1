"""Start a benchmark app in its own uvicorn process, wait until it answers, always stop it."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ops.bench.cpu import cpu_seconds

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Server:
    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far, 0 if unknown."""
        return cpu_seconds(self.pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path, timeout: float) -> None:
    """Any HTTP answer means uvicorn is listening, which it does only after the lifespan."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            raise RuntimeError(msg)
        with contextlib.suppress(httpx.TransportError):
            httpx.get(base_url + "/healthz", timeout=1.0)
            return
        time.sleep(0.1)
    msg = f"server not ready after {timeout:.0f} s:\n{log.read_text()[-4000:]}"
    raise RuntimeError(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # uvicorn shuts down gracefully (lifespan exit) on SIGTERM
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def served(app: str, port: int, log: Path, *args: str, timeout: float = 60) -> Iterator[Server]:
    """Run `python -m ops.bench.serve APP --port PORT ARGS...` until the block exits."""
    command = [sys.executable, "-m", "ops.bench.serve", app, "--port", str(port), *args]
    with log.open("wb") as out:
        # A session of its own: a Ctrl-C reaches only the harness, which stops the server.
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(process, base_url, log, timeout)
        yield Server(base_url, process.pid)
    finally:
        _stop(process)
