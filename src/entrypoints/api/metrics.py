"""`/metrics` (Prometheus text format), seed 003's observability list.

Request-path counters and the realtime histogram live in this process. Everything a
single process cannot know (inbox pending and dead, worker latency, projection lag) is
read from PostgreSQL at scrape time (reconcile drift included), so every API process
reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from adapters.postgres.sync_health import sync_health
from adapters.postgres.sync_state import drift_totals

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUBLISH_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000)


class Metrics:
    """One registry per app: no global state, so two apps in one process never mix."""

    def __init__(self, database_url: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "webhook_received",
            "Webhooks that reached an endpoint, by kind (accepted or not).",
            ["kind"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "webhook_rejected",
            "Webhooks answered with an error and not stored, by kind and reason.",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.invalid_signature = Counter(
            "webhook_invalid_signature",
            "Webhooks whose X-Twilio-Signature did not match (also in webhook_rejected).",
            ["kind"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "realtime_publish_latency_ms",
            "From an event's commit in the store to its hand-off to live SSE subscribers.",
            buckets=PUBLISH_BUCKETS_MS,
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(database_url))

    def render(self) -> bytes:
        """Blocking (reads PostgreSQL): call it off the event loop."""
        return generate_latest(self.registry)


class _DatabaseCollector:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only: registering must not touch the database

    def collect(self) -> Iterator[Metric]:
        health = sync_health(self.database_url)
        yield GaugeMetricFamily(
            "webhook_inbox_pending", "Inbox rows waiting for the worker.", health.inbox_pending
        )
        yield GaugeMetricFamily(
            "webhook_inbox_dead", "Inbox rows dead-lettered after N attempts.", health.inbox_dead
        )
        yield GaugeMetricFamily(
            "webhook_inbox_oldest_pending_seconds",
            "Age of the oldest pending inbox row (0 when none).",
            health.oldest_pending_age_s or 0.0,
        )
        lag = GaugeMetricFamily(
            "projection_lag_events",
            "Events in the store not yet applied, per follower (relay, projections).",
            labels=["follower"],
        )
        for follower in health.followers:
            lag.add_metric([follower.name], follower.lag)
        yield lag
        yield _worker_latency(self.database_url)
        drift = CounterMetricFamily(
            "reconcile_drift_detected",
            "Differences reconcile found between the provider and our state, repaired.",
            labels=["job", "kind"],
        )
        for (job, kind), count in drift_totals(self.database_url).items():
            drift.add_metric([job, kind], count)
        yield drift


def _worker_latency(database_url: str) -> HistogramMetricFamily:
    """Bucket rows hold per-bucket counts; Prometheus wants them cumulative."""
    with psycopg.connect(database_url) as conn:
        rows: list[Any] = conn.execute(
            "SELECT le, observations, sum_ms FROM worker_latency_buckets ORDER BY le"
        ).fetchall()
    buckets, running, total = [], 0.0, 0.0
    for le, observations, sum_ms in rows:
        running += observations
        total += sum_ms
        if le != float("inf"):
            buckets.append((_bound(le), running))
    buckets.append(("+Inf", running))
    return HistogramMetricFamily(
        "worker_processing_latency_ms",
        "From a webhook's receipt to the commit of its outcome by the inbox worker.",
        buckets=buckets,
        sum_value=total,
    )


def _bound(le: float) -> str:
    return str(int(le)) if le.is_integer() else str(le)
