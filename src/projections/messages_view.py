"""MessagesViewProjection: messages, their deliveries and their errors, from Message events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from domain.message import Message
from domain.message_facts import ErrorFact, MessageFacts
from domain.message_status import EARLIER, FINAL, MessageStatus, parse_channel, parse_message_status
from projections.positioned import PositionedEvent, ReadsEvents


class MessageRow(msgspec.Struct, kw_only=True):
    """One row of `messages` (seed 000): an SMS/WhatsApp/... message as it stands now."""

    project_id: str
    message_sid: str
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
    status: str | None = None
    is_final: bool = False
    error_code: int | None = None
    error_message: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    finalized_at: datetime | None = None
    final_recorded_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    last_position: int = 0


class DeliveryRow(msgspec.Struct, kw_only=True):
    """One row of `message_deliveries`: a status the provider reported, first time known."""

    project_id: str
    message_sid: str
    status: str
    reached_at: datetime | None = None
    recorded_at: datetime | None = None
    last_position: int = 0


class ErrorRow(msgspec.Struct, kw_only=True):
    """One row of `message_errors`: an error code, with its strongest status and description."""

    project_id: str
    message_sid: str
    error_code: int
    status: str
    error_message: str | None = None
    provider_event_time: datetime | None = None
    recorded_at: datetime | None = None
    last_position: int = 0


class MessageView(msgspec.Struct, kw_only=True):
    """A message's rows in all three tables: what one event may change."""

    row: MessageRow
    deliveries: dict[str, DeliveryRow] = msgspec.field(default_factory=dict)
    errors: dict[int, ErrorRow] = msgspec.field(default_factory=dict)


class MessagesViewProjection(ReadsEvents):
    """Folds Message events into rows that agree with the aggregate whatever the arrival order.

    Deliveries are the statuses the provider reported (applied or not: a late `sent` under
    `delivered` was still reached), each with the earliest provider time given for it, which
    is exactly the aggregate's `facts.times`. Errors are merged per code as the aggregate
    merges them. The row's times, error and `finalized_at` are derived from those, with the
    domain's own rules, so they cannot disagree with `Message`.
    """

    name = "messages_view"

    reads = (Message.Event,)

    @staticmethod
    def key(event: Any) -> tuple[str, str]:
        return event.project_id, event.message_sid

    @staticmethod
    def apply(view: MessageView | None, item: PositionedEvent) -> MessageView:
        event = item.event
        if isinstance(event, Message.Created):
            view = MessageView(row=_created(event))
        elif view is None:
            msg = f"event at position {item.position} arrived before its message was created"
            raise LookupError(msg)
        else:
            _fold(view, item)
        _derive(view)
        row = view.row
        row.version = event.originator_version
        row.last_position = item.position
        row.updated_at = event.timestamp
        return view


def _created(event: Any) -> MessageRow:
    return MessageRow(
        project_id=event.project_id,
        message_sid=event.message_sid,
        channel=channel_name(event.channel),
        direction=event.direction,
        from_address=event.from_address,
        to_address=event.to_address,
        messaging_service_sid=event.messaging_service_sid,
        template_id=event.template_id,
        contact_id=event.contact_id,
        campaign_id=event.campaign_id,
        body_chars=event.body_chars,
        segments=event.segments,
        created_at=event.timestamp,
    )


def _fold(view: MessageView, item: PositionedEvent) -> None:
    event, row = item.event, view.row
    if isinstance(event, Message.StatusObserved):
        status = MessageStatus(event.status)
        row.status = status.value
        row.is_final = status in FINAL
        if row.is_final and row.final_recorded_at is None:
            row.final_recorded_at = event.timestamp
    if isinstance(event, Message.StatusObserved | Message.Reached | Message.ObservationIgnored):
        _reach(view, item)
    elif isinstance(event, Message.ErrorRecorded):
        _error(view, item)


def _reach(view: MessageView, item: PositionedEvent) -> None:
    event = item.event
    status = parse_message_status(event.status)
    if status is None:
        return  # an unknown status is history only
    at: datetime | None = event.provider_event_time
    known = view.deliveries.get(status.value)
    if known is None:
        view.deliveries[status.value] = DeliveryRow(
            project_id=event.project_id,
            message_sid=event.message_sid,
            status=status.value,
            reached_at=at,
            recorded_at=event.timestamp,
            last_position=item.position,
        )
    elif at is not None and (known.reached_at is None or at < known.reached_at):
        known.reached_at = at
        known.last_position = item.position


def _error(view: MessageView, item: PositionedEvent) -> None:
    event = item.event
    code: int = event.error_code
    known = view.errors.get(code)
    facts = MessageFacts(errors={} if known is None else {code: _fact(known)})
    merged = facts.with_error(code, event.status, event.error_message).errors[code]
    at: datetime | None = event.provider_event_time
    if known is None:
        view.errors[code] = ErrorRow(
            project_id=event.project_id,
            message_sid=event.message_sid,
            error_code=code,
            status=merged.status,
            error_message=merged.message,
            provider_event_time=at,
            recorded_at=event.timestamp,
            last_position=item.position,
        )
        return
    known.status, known.error_message = merged.status, merged.message
    if at is not None and (known.provider_event_time is None or at < known.provider_event_time):
        known.provider_event_time = at
    known.last_position = item.position


def _fact(row: ErrorRow) -> ErrorFact:
    return ErrorFact(row.status, row.error_message)


def facts_of(view: MessageView) -> MessageFacts:
    """The aggregate's facts (times and errors) as the rows hold them."""
    times = {MessageStatus(s): d.reached_at for s, d in view.deliveries.items() if d.reached_at}
    errors = {code: _fact(e) for code, e in view.errors.items()}
    return MessageFacts(frozenset(), times, errors)


def _derive(view: MessageView) -> None:
    row, facts = view.row, facts_of(view)
    row.sent_at, row.delivered_at, row.read_at = facts.sent_at, facts.delivered_at, facts.read_at
    row.error_code, row.error_message = facts.error_code, facts.error_message
    row.finalized_at = None
    if row.status is not None and row.is_final:
        # Message.finalized_at: the earliest provider time of a final status on the path to
        # the current one, else when the first final status was recorded.
        status = MessageStatus(row.status)
        path = EARLIER[status] | {status}
        times = [t for s, t in facts.times.items() if s in FINAL and s in path]
        row.finalized_at = min(times) if times else row.final_recorded_at


def channel_name(value: str | None) -> str | None:
    """The channel as the aggregate understands it; an unknown one stays in history only."""
    channel = parse_channel(value)
    return None if channel is None else channel.value
