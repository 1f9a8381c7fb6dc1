"""Response bodies of the API that are not a view row as such, as msgspec types. OpenAPI
describes the bodies from these types (spec.py); tests/integration/test_api_contract.py
checks with schemathesis that what the routes send matches them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from projections.calls_view import CallRow


class ActiveCalls(msgspec.Struct, kw_only=True):
    """`position`: the feed position the list reflects; stream from it to stay current."""

    calls: list[CallRow]
    position: int


class CallEvent(msgspec.Struct, kw_only=True):
    """One event of a call, as the `call_events` view keeps it."""

    position: int
    event_type: str
    event_time: datetime
    recorded_at: datetime
    source: str | None
    status: str | None
    operation_id: str
    payload: dict[str, Any]


class CallEvents(msgspec.Struct, kw_only=True):
    call_sid: str
    events: list[CallEvent]


class CallHistory(msgspec.Struct, kw_only=True):
    """The call as the log knew it `as_of` (null: now), and the events up to then."""

    call_sid: str
    as_of: datetime | None
    version: int
    state: dict[str, Any]
    events: list[CallEvent]


class Entity(msgspec.Struct, kw_only=True):
    type: str
    id: str


class Envelope(msgspec.Struct, kw_only=True):
    """Seed 000 section 4.2; `payload.call` is the call's snapshot after the event."""

    type: str
    ts: str
    project_id: str
    entity: Entity
    payload: dict[str, Any]


class FeedItem(Envelope, kw_only=True):
    """A delta-feed item: the SSE envelope with its `id` (the global position)."""

    id: int


class DeltaFeed(msgspec.Struct, kw_only=True):
    """Poll again with `after_seq=next_after_seq`; an empty page keeps `after_seq`."""

    items: list[FeedItem]
    next_after_seq: int


class RealtimeToken(msgspec.Struct, kw_only=True):
    token: str
    expires_at: int
    stream_url: str


class CampaignSummary(msgspec.Struct, kw_only=True):
    campaign_id: str
    key: str
    name: str
    state: str
    limits: dict[str, Any]
    contacts: int
    succeeded: int
    attempts: int
    in_flight: int
    version: int


class CommandOutcome(msgspec.Struct, kw_only=True):
    """What a campaign command did; a repeat of its operation id replays the first outcome."""

    operation_id: str
    outcome: str
    reason: str | None
    replayed: bool
    campaign: CampaignSummary | None
