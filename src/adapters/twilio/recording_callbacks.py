"""Recording status callbacks: what must be present, the dedupe key, the command."""

from __future__ import annotations

from typing import Any

from adapters.twilio.callbacks import (
    MalformedCallback,
    dedupe_key,
    int_field,
    optional,
    required,
    time_field,
)
from domain.call_commands import RecordRecordingStatus
from domain.commands import Source

REQUIRED_RECORDING_FIELDS = ("AccountSid", "CallSid", "RecordingSid", "RecordingStatus")


def check_recording_status(fields: dict[str, Any]) -> None:
    problems = required(fields, REQUIRED_RECORDING_FIELDS)
    int_field(fields, "RecordingDuration", problems)
    int_field(fields, "RecordingChannels", problems)
    time_field(fields, problems, "RecordingStartTime")
    if problems:
        raise MalformedCallback(problems)


def recording_dedupe_key(fields: dict[str, Any]) -> str:
    """One event per recording and status (CallSid too: a recording belongs to one call)."""
    return dedupe_key("recording", fields, ("CallSid", "RecordingSid", "RecordingStatus"))


def recording_status_command(
    payload: dict[str, Any], *, operation_id: str, project_id: str, trace_id: str
) -> RecordRecordingStatus:
    problems: list[str] = []
    command = RecordRecordingStatus(
        operation_id=operation_id,
        project_id=project_id,
        trace_id=trace_id,
        call_sid=str(payload["CallSid"]),
        recording_sid=str(payload["RecordingSid"]),
        status=str(payload["RecordingStatus"]),
        source=Source.WEBHOOK,
        url=optional(payload, "RecordingUrl"),
        duration_seconds=int_field(payload, "RecordingDuration", problems),
        channels=int_field(payload, "RecordingChannels", problems),
        provider_event_time=time_field(payload, problems, "RecordingStartTime"),
    )
    if problems:
        raise MalformedCallback(problems)
    return command
