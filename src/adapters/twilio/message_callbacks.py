"""Messaging status callbacks: what must be present, the dedupe key, the command.

Messaging callbacks carry no Timestamp or SequenceNumber: the Message aggregate orders
statuses by its lifecycle, never by arrival.
"""

from __future__ import annotations

from typing import Any

from adapters.twilio.callbacks import (
    MalformedCallback,
    dedupe_key,
    int_field,
    optional,
    required,
)
from domain.commands import Source
from domain.message_commands import RecordMessageStatus

REQUIRED_MESSAGE_FIELDS = ("AccountSid", "MessageSid", "MessageStatus")


def check_message_status(fields: dict[str, Any]) -> None:
    problems = required(fields, REQUIRED_MESSAGE_FIELDS)
    int_field(fields, "ErrorCode", problems)
    if problems:
        raise MalformedCallback(problems)


def message_dedupe_key(fields: dict[str, Any]) -> str:
    """The reference's natural key: a status can repeat with another error or DLR date."""
    names = ("MessageSid", "MessageStatus", "ErrorCode", "RawDlrDoneDate")
    return dedupe_key("message", fields, names)


def channel_of(fields: dict[str, Any]) -> str:
    """`whatsapp:+1...` addresses (or ChannelPrefix) name the channel; plain numbers are SMS."""
    prefix = optional(fields, "ChannelPrefix")
    if prefix:
        return prefix.lower()
    address = str(fields.get("To") or fields.get("From") or "")
    name, sep, _ = address.partition(":")
    return name.lower() if sep and not name.startswith("+") else "sms"


def message_status_command(
    payload: dict[str, Any], *, operation_id: str, project_id: str, trace_id: str
) -> RecordMessageStatus:
    problems: list[str] = []
    command = RecordMessageStatus(
        operation_id=operation_id,
        project_id=project_id,
        trace_id=trace_id,
        message_sid=str(payload["MessageSid"]),
        status=str(payload["MessageStatus"]),
        source=Source.WEBHOOK,
        error_code=int_field(payload, "ErrorCode", problems),
        error_message=optional(payload, "ChannelStatusMessage"),
        channel=channel_of(payload),
        from_address=optional(payload, "From"),
        to_address=optional(payload, "To"),
        messaging_service_sid=optional(payload, "MessagingServiceSid"),
    )
    if problems:
        raise MalformedCallback(problems)
    return command
