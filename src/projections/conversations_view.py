"""ConversationsViewProjection: seed 003's contacts and conversations, from calls and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import NAMESPACE_URL, uuid5

import msgspec

from domain.call import Call
from domain.call_status import FINAL as CALL_FINAL
from domain.call_status import CallStatus
from domain.message import Message
from domain.message_status import FINAL as MESSAGE_FINAL
from domain.message_status import MessageStatus
from projections.messages_view import channel_name
from projections.positioned import PositionedEvent, ReadsEvents

_CONTACT_NS = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/contact")
_CONVERSATION_NS = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/conversation")
# The same person on another channel is the same contact: whatsapp:+1415... is +1415...
_CHANNEL_PREFIXES = ("whatsapp:", "messenger:", "rcs:", "sms:", "tel:")

Kind = Literal["call", "message"]


class ItemRow(msgspec.Struct, kw_only=True):
    """One row of `conversation_items`: a call or a message, in the conversation of its
    counterpart (None when the event named no counterpart: such an item is in no conversation)."""

    project_id: str
    kind: str
    sid: str
    conversation_id: str | None = None
    address: str | None = None
    channel: str | None = None
    direction: str | None = None
    from_address: str | None = None
    to_address: str | None = None
    parent_call_sid: str | None = None
    campaign_id: str | None = None
    status: str | None = None
    is_final: bool = False
    occurred_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    updated_at: datetime | None = None
    version: int = 0
    first_position: int = 0
    last_position: int = 0


class ContactRow(msgspec.Struct, kw_only=True):
    """One row of `contacts`: a counterpart address within a project (PII), dated by its
    first item (the one created at the lowest position)."""

    project_id: str
    contact_id: str
    address: str
    created_at: datetime | None = None
    first_position: int = 0


class ConversationRow(msgspec.Struct, kw_only=True):
    """One row of `conversations`: everything with one contact. The totals and activity
    times are recounted from `conversation_items` by SQL, never carried by this fold."""

    project_id: str
    conversation_id: str
    contact_id: str
    address: str
    total_calls: int = 0
    total_messages: int = 0
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_position: int = 0

    @property
    def metadata(self) -> dict[str, Any]:
        """The old viewer's `metadata` object (GET /api/conversations)."""
        return {
            "total_calls": self.total_calls,
            "total_messages": self.total_messages,
            "last_activity_at": self.last_activity_at,
        }


def normalize_address(address: str | None) -> str | None:
    """The contact key of an address: trimmed, without a channel prefix; None when empty."""
    if address is None:
        return None
    value = address.strip()
    for prefix in _CHANNEL_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :].strip()
            break
    return value or None


def counterpart(direction: str | None, from_: str | None, to: str | None) -> str | None:
    """The remote party: the caller/sender of inbound traffic, the callee/recipient of
    outbound traffic (outbound-api, outbound-dial, outbound-reply...)."""
    if direction is None:
        return None
    if direction == "inbound":
        return normalize_address(from_)
    if direction.startswith("outbound"):
        return normalize_address(to)
    return None


def contact_id(project_id: str, address: str) -> str:
    return str(uuid5(_CONTACT_NS, f"{project_id}/{address}"))


def conversation_id(project_id: str, address: str) -> str:
    return str(uuid5(_CONVERSATION_NS, f"{project_id}/{address}"))


class ConversationsViewProjection(ReadsEvents):
    """Folds Call and Message events into conversation items. An item's conversation is fixed
    by its Created event (the counterpart never changes), so the contact and conversation
    rows only ever need to exist; their counters are recounted from the items."""

    name = "conversations_view"

    reads = (Call.Event, Message.Event)

    @staticmethod
    def key(event: Any) -> tuple[str, str, str]:
        if isinstance(event, Call.Event):
            return event.project_id, "call", event.call_sid
        return event.project_id, "message", event.message_sid

    @staticmethod
    def apply(row: ItemRow | None, item: PositionedEvent) -> ItemRow:
        event = item.event
        if isinstance(event, Call.Created | Message.Created):
            row = _created(event)
            row.first_position = item.position
        elif row is None:
            msg = f"event at position {item.position} arrived before its call or message"
            raise LookupError(msg)
        else:
            _fold(row, event)
        row.version = event.originator_version
        row.last_position = item.position
        row.updated_at = event.timestamp
        return row

    @staticmethod
    def conversation_of(row: ItemRow) -> tuple[ContactRow, ConversationRow] | None:
        """The contact and conversation an item belongs to, as first seen by this item."""
        if row.address is None or row.conversation_id is None:
            return None
        contact = ContactRow(
            project_id=row.project_id,
            contact_id=contact_id(row.project_id, row.address),
            address=row.address,
            created_at=row.occurred_at,
            first_position=row.first_position,
        )
        conversation = ConversationRow(
            project_id=row.project_id,
            conversation_id=row.conversation_id,
            contact_id=contact.contact_id,
            address=row.address,
            created_at=row.occurred_at,
            updated_at=row.updated_at,
            last_position=row.last_position,
        )
        return contact, conversation


def _created(event: Any) -> ItemRow:
    channel: str | None
    if isinstance(event, Call.Created):
        kind, sid, channel = "call", event.call_sid, "voice"
        from_, to = event.from_number, event.to_number
        parent = event.parent_call_sid
    else:
        kind, sid, channel = "message", event.message_sid, channel_name(event.channel)
        from_, to = event.from_address, event.to_address
        parent = None
    address = counterpart(event.direction, from_, to)
    return ItemRow(
        project_id=event.project_id,
        kind=kind,
        sid=sid,
        conversation_id=None if address is None else conversation_id(event.project_id, address),
        address=address,
        channel=channel,
        direction=event.direction,
        from_address=from_,
        to_address=to,
        parent_call_sid=parent,
        campaign_id=event.campaign_id,
        status=CallStatus.QUEUED.value if kind == "call" else None,
        occurred_at=event.timestamp,
    )


def _fold(row: ItemRow, event: Any) -> None:
    if isinstance(event, Call.StatusObserved):
        row.status = event.status
        row.is_final = CallStatus(event.status) in CALL_FINAL
    elif isinstance(event, Message.StatusObserved):
        row.status = event.status
        row.is_final = MessageStatus(event.status) in MESSAGE_FINAL
    elif isinstance(event, Call.Answered):
        row.answered_at = event.answered_at
    elif isinstance(event, Call.Ended):
        row.is_final = True
        row.ended_at = event.ended_at
        row.duration_seconds = event.duration_seconds
    elif isinstance(event, Call.Enriched) and event.duration_seconds is not None:
        row.duration_seconds = event.duration_seconds
