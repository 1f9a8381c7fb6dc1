"""The ClickHouse rebuild as a background job of the process that owns chDB (ADR 0007):
started by the admin API, which reports its progress for `switchboard projections rebuild`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from adapters.clickhouse.rebuild import Pause, rebuild_facts
from adapters.postgres.event_store import PostgresEventStore

log = logging.getLogger(__name__)


class RebuildStatus(BaseModel):
    """`done` of `total` events replayed; `position` is what the live tables hold after."""

    state: Literal["idle", "running", "done", "failed"] = "idle"
    done: int = 0
    total: int = 0
    position: int | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class FactsRebuildJob:
    """At most one rebuild at a time; the last one's outcome stays readable."""

    def __init__(self, clickhouse_url: str, database_url: str, pause: Pause) -> None:
        self.clickhouse_url = clickhouse_url
        self.database_url = database_url
        self.pause = pause
        self.status = RebuildStatus()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, batch: int) -> None:
        assert not self.running
        self.status = RebuildStatus(state="running", started_at=datetime.now(UTC))
        self._task = asyncio.create_task(self._run(batch))

    def _progress(self, done: int, total: int) -> None:
        self.status.done, self.status.total = done, total

    async def _run(self, batch: int) -> None:
        store = await asyncio.to_thread(PostgresEventStore, self.database_url, 2)
        try:
            position = await rebuild_facts(
                self.clickhouse_url, store, batch=batch, progress=self._progress, pause=self.pause
            )
            self.status.state, self.status.position = "done", position
            self.status.done = self.status.total = max(self.status.total, position)
            log.info("clickhouse facts rebuilt", extra={"position": position})
        except Exception as exc:
            self.status.state, self.status.error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("clickhouse rebuild failed")
        finally:
            self.status.finished_at = datetime.now(UTC)
            store.close()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
