"""The reconcile schedule: the leader runs each job for each project when it is due.

Due-ness comes from `sync_state`, so a restart neither repeats a job that just ran nor
waits a whole interval for one that is overdue. A failed run is retried after
`RETRY_SECONDS` (or its interval, if shorter), not after a whole interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.sync_state import last_runs
from adapters.reconcile.jobs import JOBS, Reconciler, reconcilable_projects
from entrypoints.settings import Settings

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
RETRY_SECONDS = 60.0


def is_due(last: tuple[datetime | None, datetime | None], every: float, now: datetime) -> bool:
    succeeded, failed = last
    retry = timedelta(seconds=min(every, RETRY_SECONDS))
    if failed is not None and (succeeded is None or failed > succeeded):
        return now - failed >= retry
    return succeeded is None or now - succeeded >= timedelta(seconds=every)


def intervals(settings: Settings) -> dict[str, float]:
    return {
        "hot": settings.reconcile_hot_seconds,
        "warm": settings.reconcile_warm_seconds,
        "cold": settings.reconcile_cold_seconds,
    }


async def run_reconcile_schedule(
    settings: Settings, store: PostgresEventStore, stop: asyncio.Event
) -> None:
    assert settings.database_url
    url = settings.database_url
    reconciler = Reconciler(url, store)
    every = intervals(settings)
    tick = min(TICK_SECONDS, *every.values())
    while not stop.is_set():
        try:
            projects = await asyncio.to_thread(reconcilable_projects, url)
            ran = await asyncio.to_thread(last_runs, url)
            now = datetime.now(UTC)
            for job in JOBS:
                for project in projects:
                    last = ran.get(f"{job}:{project.id}", (None, None))
                    if not is_due(last, every[job], now):
                        continue
                    if stop.is_set():
                        return
                    try:
                        await asyncio.to_thread(reconciler.run, job, project)
                    except Exception as exc:  # recorded in sync_state; try again next time
                        log.warning(
                            "reconcile failed",
                            extra={"job": job, "project_id": project.id, "error": str(exc)[:300]},
                        )
        except Exception:
            log.exception("reconcile schedule failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick)
