"""A generated call-center day with answers known by construction, for the analyst queries.

Every call is a `CallSpec`: its campaign, outcome, timings, price and where its statuses came
from. `events()` plays the specs through the real Call aggregate (webhook and reconcile
commands, late enrichment) and stamps each event's recorded time as `provider time + lag`,
so the ClickHouse facts are what the product would write; tests compute the expected figures
from the specs alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import ClickHouseFacts, truncate_facts
from domain.call import Call, record_call_status
from domain.call_commands import EnrichCall, RecordCallStatus
from domain.commands import Source
from projections.positioned import PositionedEvent

PROJECT = "7b0c2f4e-5a61-4d8e-9f3a-2c1b0a9d8e7f"
OTHER_PROJECT = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FROM, TO = T0 - timedelta(hours=1), T0 + timedelta(hours=8)
CAMPAIGNS = ("camp-a", "camp-b", None)
OUTCOMES = ("completed", "completed", "busy", "no-answer", "failed", "canceled", "completed")
PATHS = {
    "completed": ("initiated", "ringing", "in-progress", "completed"),
    "busy": ("initiated", "ringing", "busy"),
    "no-answer": ("initiated", "ringing", "no-answer"),
    "failed": ("initiated", "failed"),
    "canceled": ("initiated", "canceled"),
}


@dataclass(frozen=True)
class CallSpec:
    project: str
    sid: str
    campaign: str | None
    outcome: str
    start: datetime  # provider time of `initiated`
    answer_delay_s: int  # ringing -> in-progress
    duration_s: int
    lag_ms: int  # provider time -> recorded in the log, for every webhook status
    final_by_reconcile: bool  # the webhook for the final status was lost; reconcile found it
    confirmed_by_reconcile: bool  # reconcile polled again after the end and saw the same
    price: Decimal | None  # what reconcile enriched, negative = a charge
    enriched_after_s: int  # seconds after the end (provider time) the enrichment is recorded

    @property
    def answered(self) -> bool:
        return self.outcome == "completed"

    def status_times(self) -> list[tuple[str, datetime]]:
        """Each status with its provider time: 1 s to ring, the answer delay, the talk."""
        times, at = [], self.start
        for n, status in enumerate(PATHS[self.outcome]):
            if n == 1:
                at = self.start + timedelta(seconds=1)
            elif status == "in-progress":
                at = at + timedelta(seconds=self.answer_delay_s)
            elif n > 0:
                at = at + timedelta(seconds=self.duration_s if self.answered else 20)
            times.append((status, at))
        return times

    @property
    def ended_at(self) -> datetime:
        return self.status_times()[-1][1]

    @property
    def answered_at(self) -> datetime:
        return dict(self.status_times())["in-progress"]

    @property
    def billed_s(self) -> int:
        return 60 * (self.duration_s // 60 + 1)

    def recorded(self, provider_time: datetime) -> datetime:
        return provider_time + timedelta(milliseconds=self.lag_ms)


def specs(project: str = PROJECT, calls: int = 42) -> list[CallSpec]:
    """A project's calls, seven minutes apart from T0 (about five hours)."""
    out = []
    for i in range(calls):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        priced = outcome in ("completed", "busy")
        out.append(
            CallSpec(
                project=project,
                sid=f"CA{project[:8]}{i:024d}",
                campaign=CAMPAIGNS[i % len(CAMPAIGNS)],
                outcome=outcome,
                start=T0 + timedelta(minutes=7 * i),
                answer_delay_s=2 + i % 5,
                duration_s=10 + 3 * i,
                lag_ms=50 + 10 * i,
                final_by_reconcile=i % 4 == 0,
                confirmed_by_reconcile=i % 5 == 0,
                price=Decimal(-(i + 1)) / 100 if priced else None,
                enriched_after_s=60 + i,
            )
        )
    return out


def _restamp(events: list[Any], at: datetime) -> list[Any]:
    return [dataclasses.replace(e, timestamp=at) for e in events]


def call_events(spec: CallSpec) -> list[Any]:
    """The call's events from the real aggregate, each stamped with its recorded time."""
    call: Call | None = None
    out: list[Any] = []
    times = spec.status_times()
    for n, (status, at) in enumerate(times):
        final = n == len(times) - 1
        details: dict[str, Any] = (
            {
                "direction": "outbound-api",
                "from_number": "+15005550006",
                "to_number": f"+1415555{n:04d}",
                "campaign_id": spec.campaign,
            }
            if n == 0
            else {}
        )
        if final and spec.answered:
            details["duration_seconds"] = spec.duration_s
        call, _ = record_call_status(
            call,
            RecordCallStatus(
                operation_id=f"{spec.sid}:{n}",
                project_id=spec.project,
                call_sid=spec.sid,
                status=status,
                sequence_number=n,
                provider_event_time=at,
                source=Source.RECONCILE if final and spec.final_by_reconcile else Source.WEBHOOK,
                **details,
            ),
        )
        out += _restamp(call.collect_events(), spec.recorded(at))
    assert call is not None
    end = spec.ended_at
    if spec.confirmed_by_reconcile:
        seen = RecordCallStatus(
            operation_id=f"{spec.sid}:poll",
            project_id=spec.project,
            call_sid=spec.sid,
            status=spec.outcome,
            sequence_number=len(times) - 1,
            provider_event_time=end,
            source=Source.RECONCILE,
            duration_seconds=spec.duration_s if spec.answered else None,
        )
        call, _ = record_call_status(call, seen)
        out += _restamp(call.collect_events(), end + timedelta(seconds=30))
    if spec.price is not None:
        call.enrich(
            EnrichCall(
                operation_id=f"{spec.sid}:price",
                project_id=spec.project,
                call_sid=spec.sid,
                source=Source.RECONCILE,
                price=str(spec.price),
                price_unit="USD",
                billed_duration_seconds=spec.billed_s,
            )
        )
        out += _restamp(call.collect_events(), end + timedelta(seconds=spec.enriched_after_s))
    return out


def fresh_facts(clickhouse_url: str) -> ClickHouse:
    """The session's chDB with empty fact tables, for a module whose tests only read."""
    ch = ClickHouse(clickhouse_url)
    ch.migrate()
    truncate_facts(ch)
    return ch


def project_facts(ch: ClickHouse, all_specs: list[CallSpec], batch: int = 100) -> None:
    """The specs' events through the real ClickHouse sink, in batches as the runner sends."""
    items = positioned(all_specs)
    sink = ClickHouseFacts(ch)
    for start in range(0, len(items), batch):
        asyncio.run(sink.apply(items[start : start + batch]))


def positioned(all_specs: list[CallSpec], start: int = 1) -> list[PositionedEvent]:
    """Every spec's events at consecutive global positions, call after call."""
    events = [e for spec in all_specs for e in call_events(spec)]
    return [PositionedEvent(start + n, e) for n, e in enumerate(events)]
