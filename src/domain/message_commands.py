"""Commands to the Message aggregate, each keyed by an operation_id (repeats are no-ops)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.commands import Source


class RecordMessageStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the provider says about a message's status (status callback, REST, our API).

    Repeating a command with the same operation_id is a no-op that reports the first
    outcome. There is no body field: the text never reaches the command, so never the log.
    """

    operation_id: str
    project_id: str
    message_sid: str
    status: str
    source: Source = Source.WEBHOOK
    provider_event_time: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    channel: str | None = None
    direction: str | None = None
    from_address: str | None = None
    to_address: str | None = None
    messaging_service_sid: str | None = None
    template_id: str | None = None
    contact_id: str | None = None
    campaign_id: str | None = None
    body_chars: int | None = None
    segments: int | None = None
    trace_id: str = ""
