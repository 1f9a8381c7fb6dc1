"""Commands: imperative requests to change an aggregate, each keyed by an operation_id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class Source(StrEnum):
    """Where an observation of the provider's state came from."""

    WEBHOOK = "webhook"
    RECONCILE = "reconcile"
    API = "api"
    MANUAL_SYNC = "manual_sync"


class RecordCallStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Record what the provider says about a call's status at a point in time.

    Repeating a command with the same operation_id is a no-op that reports the first outcome.
    """

    operation_id: str
    project_id: str
    call_sid: str
    status: str
    source: Source = Source.WEBHOOK
    provider_event_time: datetime | None = None
    sequence_number: int | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    parent_call_sid: str | None = None
    duration_seconds: int | None = None
    sip_response_code: int | None = None
    trace_id: str = ""


class Outcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did; returned again, unchanged, for a repeated operation_id."""

    operation_id: str
    outcome: Outcome
    reason: str | None = None
    aggregate_id: str | None = None
