"""Runs the `serve` components together; restarts a crashed one; stops all on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.embedded.processes import spawn

log = logging.getLogger("switchboard.supervisor")


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


def component_argv(component: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli.main", "serve", component, *options]


class Supervisor:
    def __init__(self, components: list[list[str]], env: Mapping[str, str]) -> None:
        """`components`: each a `serve` component and its options, e.g. ["worker"]."""
        self.children = [Child(" ".join(c), component_argv(*c)) for c in components]
        self.env = dict(env)
        self.stop = asyncio.Event()

    def _start(self, child: Child) -> None:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
        child.proc = spawn(child.argv, env=self.env, start_new_session=True)
        log.info("started", extra={"child": child.name, "pid": child.proc.pid})

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)

    async def run(self) -> None:
        """Keep children running until `stop` is set; the caller then calls shutdown()."""
        for child in self.children:
            self._start(child)
        while not self.stop.is_set():
            for child in self.children:
                assert child.proc is not None
                code = child.proc.poll()
                if code is None:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > 5:
                    log.error("crashing repeatedly; giving up", extra={"child": child.name})
                    self.stop.set()
                    break
                log.warning("exited; restarting", extra={"child": child.name, "code": code})
                self._start(child)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=0.5)

    async def shutdown(self, timeout: float = 15.0) -> None:
        for child in self.children:
            if child.proc and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            while child.proc and child.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if child.proc and child.proc.poll() is None:
                log.warning("did not stop in time; killing", extra={"child": child.name})
                child.proc.kill()
