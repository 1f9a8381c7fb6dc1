"""Every callback kind we accept, by its URL segment: how to check, key and normalize it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.twilio.callbacks import check_voice_status, voice_dedupe_key, voice_status_command
from adapters.twilio.message_callbacks import (
    check_message_status,
    message_dedupe_key,
    message_status_command,
)
from adapters.twilio.recording_callbacks import (
    check_recording_status,
    recording_dedupe_key,
    recording_status_command,
)

Normalizer = Callable[..., Any]
"""normalize(payload, *, operation_id, project_id, trace_id) -> a domain command"""


@dataclass(frozen=True, slots=True)
class CallbackKind:
    name: str  # URL segment and the inbox row's event_type
    check: Callable[[dict[str, Any]], None]  # raises MalformedCallback
    dedupe_key: Callable[[dict[str, Any]], str]
    normalize: Normalizer
    sid_fields: tuple[str | None, str | None, str | None]  # call, recording, message

    def sids(self, fields: dict[str, Any]) -> tuple[str | None, ...]:
        return tuple(str(fields[f]) if f and fields.get(f) else None for f in self.sid_fields)


KINDS: dict[str, CallbackKind] = {
    k.name: k
    for k in (
        CallbackKind(
            "voice-status",
            check_voice_status,
            voice_dedupe_key,
            voice_status_command,
            ("CallSid", None, None),
        ),
        CallbackKind(
            "recording-status",
            check_recording_status,
            recording_dedupe_key,
            recording_status_command,
            ("CallSid", "RecordingSid", None),
        ),
        CallbackKind(
            "messaging-status",
            check_message_status,
            message_dedupe_key,
            message_status_command,
            (None, None, "MessageSid"),
        ),
    )
}

NORMALIZERS: dict[str, Normalizer] = {name: kind.normalize for name, kind in KINDS.items()}
