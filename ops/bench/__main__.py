"""`python -m ops.bench`: run the benchmarks, print their tables, write RESULTS.md."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from ops.bench.context import Options, open_context
from ops.bench.load import LoadGenerator
from ops.bench.pyload import AsyncioLoad
from ops.bench.registry import BENCHMARKS
from ops.bench.report import (
    RESULTS,
    Table,
    cpu_busy,
    machine_facts,
    render_results,
    steal_since,
    ticks_now,
)
from ops.bench.serve import UVICORN_SETTINGS
from ops.bench.wrk import Wrk, find_wrk


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.bench",
        description="Benchmark Switchboard on this machine (real embedded PostgreSQL, real"
        " uvicorn processes) and write the figures to ops/bench/RESULTS.md.",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per app")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per app")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument(
        "--realtime-seconds",
        type=int,
        default=60,
        help="seconds of 500 webhooks/s in the realtime benchmark (60 as asked; less to try)",
    )
    parser.add_argument(
        "--realtime-rate",
        type=int,
        default=500,
        help="webhooks/s of that sustained run (500 as asked; less shows CPU per webhook"
        " without saturating the cores)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (the machine has few cores)"
    )
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk if available (installing it as root), else the Python generator",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="run just these benchmarks"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write results")
    args = parser.parse_args(argv)
    names = ("duration", "warmup", "connections", "threads", "realtime_seconds", "realtime_rate")
    for name in names:
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def choose_load(kind: str, *, threads: int, install: bool) -> LoadGenerator:
    if kind != "python":
        wrk = find_wrk(install=install)
        if wrk:
            return Wrk(wrk, threads)
        if kind == "wrk":
            msg = "wrk is not installed (apt-get install wrk)"
            raise SystemExit(msg)
        print("wrk unavailable: using the built-in Python load generator", flush=True)
    return AsyncioLoad()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every `finally`: servers and PostgreSQL stop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    options = Options(
        args.duration, args.warmup, args.connections, args.realtime_seconds, args.realtime_rate
    )
    load = choose_load(args.loadgen, threads=args.threads, install=not args.no_install)
    described = load.describe(options.connections)
    print(f"load generator: {described}", flush=True)
    before = cpu_busy()
    tables: list[Table] = []
    try:
        with open_context(options, load) as ctx:
            for name in args.only or BENCHMARKS:
                start = ticks_now()
                table = BENCHMARKS[name](ctx)
                table.notes.append(steal_since(start))
                tables.append(table)
            machine = machine_facts(ctx.postgres, before)
    except KeyboardInterrupt:
        print("interrupted: servers and PostgreSQL stopped, nothing written", file=sys.stderr)
        return 130
    load_facts = [
        ("Generator", described),
        ("Load", f"closed loop, {options.warmup} s warm-up then {options.duration} s measured"),
        ("Servers", f"one uvicorn process per app, one app at a time: {UVICORN_SETTINGS}"),
    ]
    text = render_results(tables, machine, load_facts)
    args.output.write_text(text)
    print("\n" + text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
