"""Commands to the Call aggregate, each keyed by an operation_id (repeats are no-ops)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.commands import Source


class CallCommand(msgspec.Struct, frozen=True, kw_only=True):
    operation_id: str
    project_id: str
    call_sid: str
    source: Source = Source.WEBHOOK
    trace_id: str = ""


class RecordCallStatus(CallCommand, frozen=True, kw_only=True):
    """What the provider says about a call's status at a point in time."""

    status: str
    provider_event_time: datetime | None = None
    sequence_number: int | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    parent_call_sid: str | None = None
    duration_seconds: int | None = None
    sip_response_code: int | None = None
    answered_by: str | None = None
    campaign_id: str | None = None
    attempt_id: str | None = None


class RecordRecordingStatus(CallCommand, frozen=True, kw_only=True):
    """A recording of the call changed state (recording status callback or REST)."""

    recording_sid: str
    status: str
    url: str | None = None
    duration_seconds: int | None = None
    channels: int | None = None
    provider_event_time: datetime | None = None


class EnrichCall(CallCommand, frozen=True, kw_only=True):
    """Facts that arrive late, typically from reconcile: price, billing, queue time."""

    price: str | None = None
    price_unit: str | None = None
    billed_duration_seconds: int | None = None
    queue_time_ms: int | None = None
    duration_seconds: int | None = None
    sip_response_code: int | None = None
    answered_by: str | None = None


class FreezeCall(CallCommand, frozen=True, kw_only=True):
    """Stop accepting changes once the call is final and `cooldown_seconds` have passed."""

    now: datetime
    cooldown_seconds: int = 6 * 3600
