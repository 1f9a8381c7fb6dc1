"""Tables, machine facts and the RESULTS.md document."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ops.bench.cpu import machine_ticks

RESULTS = Path(__file__).with_name("RESULTS.md")
BUSY_BEFORE = 10.0  # % of CPU used by other work before the run that skews the figures


@dataclass
class Table:
    """One benchmark's figures: a title, column names, rows of cells, notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def render_table(table: Table) -> str:
    """A Markdown table padded to line up in a terminal too."""
    widths = [
        max(len(cell) for cell in column) for column in zip(table.columns, *table.rows, strict=True)
    ]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(table.columns), line(["-" * w for w in widths]), *(line(r) for r in table.rows)]
    )


def cpu_model() -> str:
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) jiffies over all cores since boot. Stolen time is what the
    hypervisor gave to other guests: not work here, but lost to it."""
    ticks = machine_ticks()
    total = sum(ticks.values())
    return total - ticks["idle"] - ticks["iowait"] - ticks["steal"], ticks["steal"], total


def ticks_now() -> tuple[int, int, int] | None:
    """`_cpu_ticks()`, or None without /proc/stat."""
    try:
        return _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return None


def cpu_busy(seconds: float = 1.0) -> tuple[float, float] | None:
    """Shares of all cores busy and stolen over a short sample, in %; None without /proc."""
    start = ticks_now()
    time.sleep(seconds)
    end = ticks_now()
    if start is None or end is None:
        return None
    return _shares(start, end)


def _shares(start: tuple[int, int, int], end: tuple[int, int, int]) -> tuple[float, float]:
    """Shares of all cores busy and stolen between two `_cpu_ticks()` readings, in %."""
    span = max(end[2] - start[2], 1)
    return 100 * (end[0] - start[0]) / span, 100 * (end[1] - start[1]) / span


def steal_since(start: tuple[int, int, int] | None) -> str:
    """A note for a table: the share of all cores the hypervisor took since `start`
    (`ticks_now()`), so each benchmark's figures sit next to the machine they had."""
    end = ticks_now()
    if start is None or end is None:
        return "Steal during this benchmark: unknown (no /proc/stat)."
    _, share = _shares(start, end)
    return (
        f"Steal during this benchmark: {share:.0f}% of all cores, CPU the hypervisor gave to"
        " other guests; the figures above fall with it."
    )


def machine_facts(
    postgres: dict[str, str], before: tuple[float, float] | None
) -> list[tuple[str, str]]:
    """`before`: CPU busy and stolen, sampled before the run; either lowers every figure."""
    pg = postgres.get("server_version", "?")
    pg_settings = ", ".join(f"{k}={v}" for k, v in postgres.items() if k != "server_version")
    busy, stolen = before or (None, None)
    facts = [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("PostgreSQL", f"{pg} (embedded, temporary data dir; {pg_settings})"),
        ("CPU busy with other work just before the run", _share(busy)),
        ("CPU taken by the hypervisor (steal) just before the run", _share(stolen)),
    ]
    if busy is not None and busy > BUSY_BEFORE:
        facts.append(("Warning", "other work was using the CPU: these figures are understated"))
    if stolen is not None and stolen > BUSY_BEFORE:
        facts.append(("Warning", "the hypervisor was taking CPU: figures vary with it"))
    return facts


def _share(percent: float | None) -> str:
    return "unknown" if percent is None else f"{percent:.0f}% of all cores"


def render_results(
    tables: list[Table], machine: list[tuple[str, str]], load: list[tuple[str, str]]
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmark results",
        "",
        f"Measured {now} by `python -m ops.bench`. Every figure below comes from that run;"
        " the file is rewritten by each run.",
    ]
    for table in tables:
        parts += ["", f"## {table.title}", "", render_table(table)]
        parts += ["", *(f"- {note}" for note in table.notes)] if table.notes else []
    parts += ["", "## Machine", "", *(f"- {k}: {v}" for k, v in machine)]
    parts += ["", "## Load", "", *(f"- {k}: {v}" for k, v in load)]
    parts += [
        "",
        "## How to reproduce",
        "",
        "Run `make bench` (that is `.venv/bin/python -m ops.bench`) from the repository root."
        " `--duration`, `--warmup`, `--connections` and `--loadgen` change the load;"
        " `python -m ops.bench --help` lists them. Figures depend on the machine: compare runs"
        " made on the same one.",
        "",
    ]
    return "\n".join(parts)
