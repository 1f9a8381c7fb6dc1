"""The benchmarks, by name, in the order they run: each returns one table of figures."""

from __future__ import annotations

from collections.abc import Callable

from ops.bench import analytics, audit, event_store, projections, realtime, webhooks
from ops.bench.context import BenchContext
from ops.bench.report import Table

Benchmark = Callable[[BenchContext], Table]

BENCHMARKS: dict[str, Benchmark] = {
    "webhooks": webhooks.run,
    "event_store": event_store.run,
    "projections": projections.run,
    "analytics": analytics.run,
    "audit": audit.run,
    "realtime": realtime.run,
}
