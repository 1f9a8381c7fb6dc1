"""The projections `serve projections --only` can name, and the processes `up` starts.

Kept free of heavy imports: the CLI reads it to build its `--help`.
"""

from __future__ import annotations

PROJECTIONS = (
    "calls_view",
    "messages_view",
    "campaigns_view",
    "conversations_view",
    "clickhouse_facts",  # runs in `serve projections` only when ClickHouse is a server
)
# `serve` arguments of each process `switchboard up` supervises. The worker and the
# projections are apart so neither waits for the other's GIL; calls_view, which the live
# monitor waits on, has a process of its own so it never queues behind the other views
# (ops/bench/RESULTS.md has the latencies this bought). The other views are background
# work: they run at a lower CPU priority, so under load they wait, not the live path
# (ADR 0017).
BACKGROUND_NICE = 10
UP_COMPONENTS = [
    ["api"],
    ["worker", "--no-projections"],
    ["projections", "--only", "calls_view"],
    [
        "projections",
        "--only",
        *(p for p in PROJECTIONS if p != "calls_view"),
        "--nice",
        str(BACKGROUND_NICE),
    ],
]
