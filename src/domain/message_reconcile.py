"""Reconcile for messages: the provider's REST status of a message against the Message
aggregate. The repair is an ordinary RecordMessageStatus whose operation_id is derived from
the provider's facts, so a repeated reconcile is a no-op."""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.commands import Source
from domain.message import Message
from domain.message_commands import RecordMessageStatus
from domain.message_status import RANK, parse_message_status

MESSAGE = "message"  # drift kind


class ProviderMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the provider's REST API reports it (never its text)."""

    message_sid: str
    status: str
    direction: str | None = None
    from_address: str | None = None
    to_address: str | None = None
    segments: int | None = None
    error_code: int | None = None
    sent_at: datetime | None = None


def message_repair(
    message: Message | None,
    provider: ProviderMessage,
    *,
    project_id: str,
    source: Source = Source.RECONCILE,
    trace_id: str = "",
) -> RecordMessageStatus | None:
    """The command that brings `message` up to the provider's status, or None when it is
    there already (or ahead: the provider's REST view may lag its callbacks)."""
    observed = parse_message_status(provider.status)
    if observed is None:
        return None
    current = message.status if message is not None else None
    if current is not None and RANK[observed] <= RANK[current]:
        return None
    return RecordMessageStatus(
        operation_id=f"reconcile:{provider.message_sid}:status:{observed}",
        project_id=project_id,
        message_sid=provider.message_sid,
        status=str(observed),
        source=source,
        provider_event_time=provider.sent_at,
        error_code=provider.error_code,
        direction=provider.direction,
        from_address=provider.from_address,
        to_address=provider.to_address,
        segments=provider.segments,
        trace_id=trace_id,
    )
