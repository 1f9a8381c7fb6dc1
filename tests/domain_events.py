"""Test helpers: real domain events for calls, messages and campaigns, made by their handlers."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from domain.call import record_call_status
from domain.call_commands import RecordCallStatus
from domain.campaign import Campaign, attempt_id, campaign_id
from domain.campaign_commands import (
    AddContacts,
    Contact,
    CreateCampaign,
    FinishAttempt,
    RecordAttemptStatus,
    ScheduleAttempt,
    StartAttempt,
    StartCampaign,
)
from domain.campaign_handlers import handle
from domain.campaign_rules import AttemptResult, Limits
from domain.message import Message, RecordMessageStatus, record_message_status
from projections.positioned import PositionedEvent

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
OTHER_PROJECT = "0e2a7c55-3b8d-4f61-a1c4-9d2e8b7f6a30"
TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, a Tuesday
LIMITS = Limits(
    max_attempts_per_contact=2,
    retry_interval_seconds=3600,
    window_start=time(9),
    window_end=time(18),
    timezone="Europe/Berlin",
    max_concurrent_calls=5,
)
ANNA, BORIS, CLARA = "lead-anna", "lead-boris", "lead-clara"
PHONES = {ANNA: "+4915112345671", BORIS: "+4915112345672", CLARA: "+4915112345673"}
_ops = itertools.count()


def _op() -> str:
    return f"op-{next(_ops)}"


def call_events(
    sid: str,
    statuses: Iterable[str],
    *,
    project: str = PROJECT,
    direction: str | None = "outbound-api",
    from_number: str | None = "+15005550006",
    to_number: str | None = "+14155551212",
    **first: Any,
) -> list[Any]:
    """A call's events: the first status carries the call's details."""
    call = None
    events: list[Any] = []
    for seq, status in enumerate(statuses):
        details = (
            {"direction": direction, "from_number": from_number, "to_number": to_number, **first}
            if seq == 0
            else {}
        )
        final = {"duration_seconds": 42} if status == "completed" else {}
        call, _ = record_call_status(
            call,
            RecordCallStatus(
                operation_id=_op(),
                project_id=project,
                call_sid=sid,
                status=status,
                sequence_number=seq,
                provider_event_time=T0 + timedelta(seconds=seq),
                trace_id=TRACE,
                **details,
                **final,
            ),
        )
        events += call.collect_events()
    return events


def message_events(
    sid: str,
    observations: Iterable[tuple[str, dict[str, Any]]],
    *,
    project: str = PROJECT,
    message: Message | None = None,
    **first: Any,
) -> tuple[Message, list[Any]]:
    """A message's events, from (status, extra command fields) observations."""
    events: list[Any] = []
    for n, (status, extra) in enumerate(observations):
        details = first if n == 0 and message is None else {}
        message, _ = record_message_status(
            message,
            RecordMessageStatus(
                operation_id=_op(),
                project_id=project,
                message_sid=sid,
                status=status,
                trace_id=TRACE,
                **details,
                **extra,
            ),
        )
        events += message.collect_events()
    assert message is not None
    return message, events


def outbound_sms(to: str = "+14155551212") -> dict[str, Any]:
    return {
        "channel": "sms",
        "direction": "outbound-api",
        "from_address": "+15005550006",
        "to_address": to,
    }


class CampaignScript:
    """Drives one campaign through the real handlers, keeping every event they record."""

    def __init__(self, key: str = "spring", project: str = PROJECT, limits: Limits = LIMITS):
        self.project = project
        self.id: UUID = campaign_id(project, key)
        self.campaign: Campaign | None = None
        self.events: list[Any] = []
        self.run(
            CreateCampaign(
                operation_id=_op(),
                project_id=project,
                campaign_key=key,
                name=f"Campaign {key}",
                limits=limits,
                trace_id=TRACE,
            )
        )

    def run(self, command: Any) -> Campaign:
        self.campaign, _ = handle(self.campaign, command)
        self.events += self.campaign.collect_events()
        return self.campaign

    def on(self, cls: type[Any], **fields: Any) -> Campaign:
        return self.run(
            cls(
                operation_id=_op(),
                project_id=self.project,
                campaign_id=self.id,
                trace_id=TRACE,
                **fields,
            )
        )

    def add(self, *contacts: str) -> None:
        self.on(
            AddContacts, contacts=[Contact(contact_id=c, phone_number=PHONES[c]) for c in contacts]
        )

    def start(self) -> None:
        self.on(StartCampaign)

    def attempt(
        self,
        contact: str,
        number: int,
        at: datetime,
        result: AttemptResult | None = None,
        *,
        call_sid: str | None = None,
        statuses: Iterable[str] = (),
    ) -> str:
        """Schedule the contact's n-th attempt at `at`, then play what the provider says."""
        aid = attempt_id(self.id, contact, number)
        self.on(ScheduleAttempt, contact_id=contact, scheduled_at=at)
        if call_sid is not None:
            self.on(StartAttempt, attempt_id=aid, call_sid=call_sid, observed_at=at)
        for n, status in enumerate(statuses, start=1):
            self.on(
                RecordAttemptStatus,
                attempt_id=aid,
                status=status,
                observed_at=at + timedelta(seconds=n),
            )
        if result is not None:
            self.on(
                FinishAttempt, attempt_id=aid, result=result, finished_at=at + timedelta(minutes=1)
            )
        return aid


def completed_campaign(key: str = "spring", project: str = PROJECT) -> CampaignScript:
    """Anna succeeds on her first call; Boris misses twice and is exhausted: completed."""
    script = CampaignScript(key, project)
    script.add(ANNA, BORIS)
    script.start()
    script.attempt(
        ANNA,
        1,
        T0,
        AttemptResult.SUCCESS,
        call_sid="CA-anna-1",
        statuses=["ringing", "in-progress"],
    )
    script.attempt(
        BORIS, 1, T0, AttemptResult.NO_ANSWER, call_sid="CA-boris-1", statuses=["ringing"]
    )
    script.attempt(BORIS, 2, T0 + timedelta(hours=2), AttemptResult.BUSY)
    return script


def positioned(events: Iterable[Any], start: int = 1) -> list[PositionedEvent]:
    return [PositionedEvent(p, e) for p, e in enumerate(events, start=start)]
