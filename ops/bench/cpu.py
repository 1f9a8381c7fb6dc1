"""CPU time per component of a running pipeline, from Linux /proc: where the cores went."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

Pids = Callable[[], list[int]]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def speed_check(repeats: int = 3) -> float:
    """Milliseconds a fixed pure-Python loop takes, best of `repeats`. On a shared VM the
    same code can run at very different speeds from one hour to the next, and steal
    does not always show it: the same figure in two runs says the machine was the same."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def named(name: str) -> Pids:
    """Every process of that name: PostgreSQL forks one per connection."""

    def pids() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == name:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    return pids


class CpuMeter:
    """`start()`, then `stop()` gives each component's share of one core over the window
    (100 = one core busy). Per process, so connections opened meanwhile count from zero;
    a process that ends inside the window loses its part."""

    def __init__(self, components: Mapping[str, Pids]) -> None:
        self.components = dict(components)
        self._start: dict[str, dict[int, float]] = {}
        self._machine: dict[str, int] = {}
        self._started_at = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {p: cpu_seconds(p) for p in pids()} for name, pids in self.components.items()}

    def start(self) -> None:
        self._start = self._read()
        self._machine = machine_ticks()
        self._started_at = os.times().elapsed

    def stop(self) -> dict[str, float]:
        """Each component's %, then the machine's `idle`, `iowait` and `steal` (what the
        hypervisor gave to other guests), in % of one core too."""
        end, seconds = self._read(), os.times().elapsed - self._started_at
        used = {
            name: 100
            * sum(t - self._start.get(name, {}).get(p, 0.0) for p, t in now.items())
            / max(seconds, 1e-9)
            for name, now in end.items()
        }
        before, after = self._machine, machine_ticks()
        total = sum(after.values()) - sum(before.values())
        cores = 100 * (os.cpu_count() or 1)
        for kind in ("idle", "iowait", "steal"):
            used[kind] = cores * (after[kind] - before[kind]) / max(total, 1)
        return used


def machine_ticks() -> dict[str, int]:
    """The `cpu` line of /proc/stat: ticks of all cores by kind, since boot."""
    values = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    kinds = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return dict(zip(kinds, map(int, values), strict=True))
