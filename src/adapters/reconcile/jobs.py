"""Reconcile jobs (seed 003): read the provider's REST API for a bounded set of calls,
find drift against the Call aggregates, and repair it through the ordinary idempotent
call commands.

- hot: our calls not yet final (partial index `calls_active`), fetched one by one;
- warm: provider calls that ended since the cursor (at most `warm_hours` back), with their
  recordings: late price, duration, recordings, and calls we never heard of; and the
  messages sent in that window;
- cold: provider calls and messages of the last `cold_hours`, then freeze settled calls;
- today / call: the manual syncs (`POST /api/sync/today`, `POST /api/sync/call/{sid}`).

Nothing scans every call: each job reads an index range or a provider time window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from adapters.postgres.command_runner import PostgresCommandRunner
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.projects import Project
from adapters.postgres.sync_state import load_cursor, record_error, record_success
from adapters.twilio.rest_client import (
    calls_in_window,
    fetch_call,
    fetch_status,
    messages_sent_since,
    provider_client,
    recordings_since,
    to_provider_call,
)
from domain.call import call_id, handle_call_command
from domain.call_commands import FreezeCall
from domain.call_reconcile import DRIFT_KINDS, ENRICHMENT, ProviderCall, next_repair
from domain.call_status import parse_status
from domain.commands import Outcome, Source
from domain.message import message_id, record_message_status
from domain.message_reconcile import MESSAGE, ProviderMessage, message_repair

log = logging.getLogger(__name__)

JOBS = ("hot", "warm", "cold")
CHUNK = 500  # aggregates loaded per query
MAX_REPAIRS_PER_CALL = 8
# Candidate queries: each is a range of a partial index (tests EXPLAIN these very strings).
ACTIVE_CALLS = (
    "SELECT call_sid FROM calls WHERE project_id = %s"
    " AND status IN ('queued', 'initiated', 'ringing', 'in-progress')"
    " AND frozen_at IS NULL ORDER BY started_at LIMIT %s"
)  # calls_active
SETTLED_CALLS = (
    "SELECT call_sid FROM calls WHERE project_id = %s AND frozen_at IS NULL"
    " AND finalized_at IS NOT NULL AND finalized_at < %s ORDER BY finalized_at LIMIT %s"
)  # calls_unfrozen_finalized


@dataclass(frozen=True)
class ReconcilePolicy:
    hot_batch: int = 1000  # non-final calls fetched per hot run, oldest first
    warm_hours: float = 6.0  # how far back warm looks at most
    overlap_minutes: float = 15.0  # each window re-reads this much of the previous one
    recording_margin_hours: float = 4.0  # a recording starts at most this long before its end
    cold_hours: float = 24.0
    freeze_after_hours: float = 6.0  # final this long: frozen by cold, never polled again
    freeze_batch: int = 10_000
    fetch_threads: int = 8


@dataclass
class ReconcileResult:
    job: str
    project_id: str
    checked: int = 0  # provider calls compared
    messages_checked: int = 0
    drift: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*DRIFT_KINDS, MESSAGE), 0))
    repaired: int = 0  # commands that changed a call
    enriched: int = 0  # calls given late facts (price), which callbacks never carry
    skipped_frozen: int = 0
    not_found: int = 0  # our calls the provider does not know
    frozen: int = 0
    window: dict[str, str | None] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def drift_found(self) -> int:
        return sum(self.drift.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drift_found": self.drift_found}


def reconcilable_projects(database_url: str, project_id: str | None = None) -> list[Project]:
    """Projects with a provider API URL (set it to https://api.twilio.com for Twilio)."""
    query = (
        "SELECT id::text, name, twilio_account_sid, twilio_auth_token, provider_api_url"
        " FROM projects WHERE provider_api_url IS NOT NULL"
    )
    with psycopg.connect(database_url) as conn:
        if project_id is None:
            rows = conn.execute(query + " ORDER BY id").fetchall()
        else:
            rows = conn.execute(query + " AND id = %s", (project_id,)).fetchall()
    return [Project(*row) for row in rows]


ClientFor = Callable[[Project], Any]


def default_client(project: Project) -> Any:
    return provider_client(
        project.twilio_account_sid, project.twilio_auth_token, project.provider_api_url
    )


class Reconciler:
    def __init__(
        self,
        database_url: str,
        store: PostgresEventStore,
        policy: ReconcilePolicy | None = None,
        client_for: ClientFor = default_client,
    ) -> None:
        self.database_url = database_url
        self.store = store
        self.runner = PostgresCommandRunner(store)
        self.policy = policy or ReconcilePolicy()
        self.client_for = client_for

    def run(self, job: str, project: Project, now: datetime | None = None) -> ReconcileResult:
        """One job for one project; its cursor moves only if the run succeeds."""
        now = now or datetime.now(UTC)
        jobs = {"hot": self.hot, "warm": self.warm, "cold": self.cold, "today": self.today}
        name = f"{job}:{project.id}"
        began = time.monotonic()
        try:
            result, cursor = jobs[job](project, now)
        except Exception as exc:
            record_error(self.database_url, name, f"{type(exc).__name__}: {exc}")
            raise
        result.duration_ms = round((time.monotonic() - began) * 1000, 1)
        record_success(
            self.database_url,
            name,
            cursor,
            now,
            project_id=project.id,
            job=job,
            drift=result.drift,
        )
        log.info("reconciled", extra={k: v for k, v in result.as_dict().items() if k != "window"})
        return result

    def hot(self, project: Project, now: datetime) -> tuple[ReconcileResult, dict[str, Any]]:
        result = ReconcileResult("hot", project.id)
        sids = self._active_calls(project.id)
        client = self.client_for(project)
        with ThreadPoolExecutor(self.policy.fetch_threads) as pool:
            fetched = list(pool.map(lambda sid: fetch_status(client, sid), sids))
        result.not_found = sum(1 for f in fetched if f is None)
        self._reconcile(project, [f for f in fetched if f is not None], result, Source.RECONCILE)
        return result, {"checked_at": now.isoformat(), "active": len(sids)}

    def warm(self, project: Project, now: datetime) -> tuple[ReconcileResult, dict[str, Any]]:
        floor = now - timedelta(hours=self.policy.warm_hours)
        previous = load_cursor(self.database_url, f"warm:{project.id}").get("ended_after")
        since = floor
        if previous:
            since = max(floor, datetime.fromisoformat(previous) - self._overlap)
        result = ReconcileResult("warm", project.id, window={"ended_after": since.isoformat()})
        client = self.client_for(project)
        calls = calls_in_window(client, ended_after=since)
        self._reconcile_window(project, client, calls, since, result, Source.RECONCILE)
        self._reconcile_messages(project, messages_sent_since(client, since), result)
        return result, {"ended_after": now.isoformat()}

    def cold(self, project: Project, now: datetime) -> tuple[ReconcileResult, dict[str, Any]]:
        since = now - timedelta(hours=self.policy.cold_hours)
        result = ReconcileResult("cold", project.id, window={"started_after": since.isoformat()})
        client = self.client_for(project)
        calls = calls_in_window(client, started_after=since, started_before=now)
        self._reconcile_window(project, client, calls, since, result, Source.RECONCILE)
        self._reconcile_messages(project, messages_sent_since(client, since), result)
        result.frozen = self._freeze_settled(project.id, now)
        return result, {"started_after": since.isoformat(), "until": now.isoformat()}

    def today(self, project: Project, now: datetime) -> tuple[ReconcileResult, dict[str, Any]]:
        """The emergency manual sync: every call the provider started today (UTC)."""
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        result = ReconcileResult("today", project.id, window={"started_after": since.isoformat()})
        client = self.client_for(project)
        calls = calls_in_window(client, started_after=since)
        self._reconcile_window(project, client, calls, since, result, Source.MANUAL_SYNC)
        messages = messages_sent_since(client, since)
        self._reconcile_messages(project, messages, result, Source.MANUAL_SYNC)
        return result, {"started_after": since.isoformat(), "until": now.isoformat()}

    def call(self, project: Project, call_sid: str) -> ReconcileResult:
        """One call and its recordings, now (`POST /api/sync/call/{sid}`)."""
        result = ReconcileResult("call", project.id)
        provider = fetch_call(self.client_for(project), call_sid)
        if provider is None:
            result.not_found = 1
            return result
        self._reconcile(project, [provider], result, Source.MANUAL_SYNC)
        record_success(
            self.database_url,
            f"call:{project.id}",
            {"call_sid": call_sid},
            datetime.now(UTC),
            project_id=project.id,
            job="call",
            drift=result.drift,
        )
        return result

    @property
    def _overlap(self) -> timedelta:
        return timedelta(minutes=self.policy.overlap_minutes)

    def _reconcile_window(
        self,
        project: Project,
        client: Any,
        calls: Iterable[Any],
        since: datetime,
        result: ReconcileResult,
        source: Source,
    ) -> None:
        margin = timedelta(hours=self.policy.recording_margin_hours)
        recordings = recordings_since(client, since - margin)
        facts = [to_provider_call(c, tuple(recordings.get(c.sid, ()))) for c in calls]
        self._reconcile(project, facts, result, source)

    def _reconcile(
        self, project: Project, calls: list[ProviderCall], result: ReconcileResult, source: Source
    ) -> None:
        trace_id = f"{time.time_ns():032x}"[-32:]
        for start in range(0, len(calls), CHUNK):
            chunk = calls[start : start + CHUNK]
            with self.store.connection() as conn:
                ids = [call_id(project.id, c.call_sid) for c in chunk]
                aggregates = self.store.load(conn.cursor(), ids)
            for provider, aggregate_id in zip(chunk, ids, strict=True):
                result.checked += 1
                call = aggregates.get(aggregate_id)
                if call is not None and call.frozen_at is not None:
                    result.skipped_frozen += 1
                    continue
                if parse_status(provider.status) is None:
                    continue
                self._repair(project.id, provider, call, result, source, trace_id)

    def _repair(
        self,
        project_id: str,
        provider: ProviderCall,
        call: Any,
        result: ReconcileResult,
        source: Source,
        trace_id: str,
    ) -> None:
        """Apply repairs until the call agrees with the provider; count what changed."""
        tried: set[str] = set()
        kinds: set[str] = set()
        aggregate_id = call_id(project_id, provider.call_sid)
        for _ in range(MAX_REPAIRS_PER_CALL):
            repair = next_repair(
                call,
                provider,
                project_id=project_id,
                source=source,
                trace_id=trace_id,
                skip=frozenset(tried),
            )
            if repair is None:
                break
            cmd = repair.command
            tried.add(cmd.operation_id)
            ran = self.runner.run(
                project_id,
                cmd.operation_id,
                aggregate_id,
                lambda current, cmd=cmd: handle_call_command(current, cmd),  # type: ignore[misc]
            )
            call = ran.aggregate
            if not ran.replayed and ran.result.outcome is Outcome.APPLIED:
                result.repaired += 1
                kinds.add(repair.kind)
        for kind in kinds:
            if kind == ENRICHMENT:
                result.enriched += 1
            else:
                result.drift[kind] += 1

    def _reconcile_messages(
        self,
        project: Project,
        messages: Iterable[ProviderMessage],
        result: ReconcileResult,
        source: Source = Source.RECONCILE,
    ) -> None:
        """Message statuses the callbacks did not bring (Twilio: poll at least daily)."""
        listed = list(messages)
        for start in range(0, len(listed), CHUNK):
            chunk = listed[start : start + CHUNK]
            ids = [message_id(project.id, m.message_sid) for m in chunk]
            with self.store.connection() as conn:
                aggregates = self.store.load(conn.cursor(), ids)
            for provider, aggregate_id in zip(chunk, ids, strict=True):
                result.messages_checked += 1
                cmd = message_repair(
                    aggregates.get(aggregate_id), provider, project_id=project.id, source=source
                )
                if cmd is None:
                    continue
                ran = self.runner.run(
                    project.id,
                    cmd.operation_id,
                    aggregate_id,
                    lambda message, cmd=cmd: record_message_status(message, cmd),  # type: ignore[misc]
                )
                if not ran.replayed and ran.result.outcome is Outcome.APPLIED:
                    result.repaired += 1
                    result.drift[MESSAGE] += 1

    def _active_calls(self, project_id: str) -> list[str]:
        """Non-final, unfrozen calls, oldest first: a range of the partial index."""
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(ACTIVE_CALLS, (project_id, self.policy.hot_batch)).fetchall()
        return [r[0] for r in rows]

    def _freeze_settled(self, project_id: str, now: datetime) -> int:
        """Final calls past the cooldown stop changing and leave every later job."""
        cooldown = timedelta(hours=self.policy.freeze_after_hours)
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                SETTLED_CALLS, (project_id, now - cooldown, self.policy.freeze_batch)
            ).fetchall()
        frozen = 0
        for (sid,) in rows:
            cmd = FreezeCall(
                operation_id=f"freeze:{sid}",
                project_id=project_id,
                call_sid=sid,
                source=Source.RECONCILE,
                now=now,
                cooldown_seconds=int(cooldown.total_seconds()),
            )
            ran = self.runner.run(
                project_id,
                cmd.operation_id,
                call_id(project_id, sid),
                lambda current, cmd=cmd: handle_call_command(current, cmd),  # type: ignore[misc]
            )
            frozen += int(not ran.replayed and ran.result.outcome is Outcome.APPLIED)
        return frozen
