"""The inbox worker loop: drain batches, then sleep until NOTIFY (or a 1 s poll)."""

from __future__ import annotations

import logging
import random
import threading

import psycopg

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.inbox import INBOX_CHANNEL
from adapters.postgres.inbox_worker import PostgresInboxWorker
from adapters.twilio.kinds import NORMALIZERS

log = logging.getLogger(__name__)

__all__ = ["NORMALIZERS", "run_inbox_worker"]


def run_inbox_worker(
    store: PostgresEventStore,
    database_url: str,
    stop: threading.Event,
    batch_size: int = 500,
    *,
    max_attempts: int = 8,
    backoff_base_seconds: float = 1.0,
) -> None:
    worker = PostgresInboxWorker(
        store,
        NORMALIZERS,
        max_attempts=max_attempts,
        backoff_base_seconds=backoff_base_seconds,
    )
    failures = 0
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {INBOX_CHANNEL}")
        while not stop.is_set():
            try:
                report = worker.process_batch(batch_size)
                failures = 0
            except Exception as exc:  # e.g. a concurrent writer won the same version: retry
                failures += 1
                delay = min(5.0, 0.05 * 2**failures) * (0.5 + random.random())
                log.warning(
                    "inbox batch failed; retrying",
                    extra={
                        "error": f"{type(exc).__name__}: {exc}"[:300],
                        "retry_in_s": round(delay, 3),
                    },
                )
                stop.wait(delay)
                continue
            if report.claimed:
                log.debug("inbox batch", extra={"claimed": report.claimed, **report.outcomes})
            if report.claimed < batch_size:
                for _ in listener.notifies(timeout=1.0, stop_after=1):
                    pass
