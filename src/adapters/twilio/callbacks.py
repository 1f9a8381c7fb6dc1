"""Voice status callbacks: parse the wire form, derive the dedupe key, build the command."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from domain.call_commands import RecordCallStatus
from domain.commands import Source

REQUIRED_VOICE_FIELDS = ("AccountSid", "CallSid", "CallStatus")


class MalformedCallback(ValueError):
    """The body cannot be read as a provider callback; `problems` says why, field by field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ParsedBody:
    pairs: list[tuple[str, str]]
    fields: dict[str, Any]
    is_json: bool


def parse_body(body: bytes, content_type: str) -> ParsedBody:
    """Form bodies keep every pair (signatures use them all); JSON bodies become fields."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedCallback(["body is not UTF-8"]) from exc
    if content_type.startswith("application/json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MalformedCallback([f"body is not JSON: {exc}"]) from exc
        if not isinstance(data, dict):
            raise MalformedCallback(["JSON body must be an object"])
        _refuse_nul((k, v) for k, v in data.items() if isinstance(v, str))
        return ParsedBody([], {k: v for k, v in data.items()}, is_json=True)
    if content_type and not content_type.startswith("application/x-www-form-urlencoded"):
        raise MalformedCallback([f"unsupported content type {content_type!r}"])
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise MalformedCallback([f"body is not form-encoded: {exc}"]) from exc
    _refuse_nul(pairs)
    fields: dict[str, Any] = {}
    for name, value in pairs:
        prior = fields.get(name)
        fields[name] = value if prior is None else [*_as_list(prior), value]
    return ParsedBody(pairs, fields, is_json=False)


def _refuse_nul(pairs: Iterable[tuple[str, str]]) -> None:
    """PostgreSQL text cannot hold NUL: such a body could never be looked up or stored."""
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise MalformedCallback(["body contains a NUL character"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _int(fields: dict[str, Any], name: str, problems: list[str]) -> int | None:
    value = fields.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        problems.append(f"{name} must be an integer")
        return None


def _time(fields: dict[str, Any], problems: list[str]) -> datetime | None:
    value = fields.get("Timestamp")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        problems.append("Timestamp must be an RFC 2822 date")
        return None
    # Twilio sends UTC; "-0000" or no zone at all means UTC too, never a naive time.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_voice_status(fields: dict[str, Any]) -> None:
    """Reject what no worker could ever apply, before it is stored."""
    problems = [f"{f} is required" for f in REQUIRED_VOICE_FIELDS if not fields.get(f)]
    for f in REQUIRED_VOICE_FIELDS:
        if isinstance(fields.get(f), list):
            problems.append(f"{f} must appear once")
    _int(fields, "SequenceNumber", problems)
    _int(fields, "CallDuration", problems)
    _int(fields, "SipResponseCode", problems)
    _time(fields, problems)
    if problems:
        raise MalformedCallback(problems)


def voice_dedupe_key(fields: dict[str, Any]) -> str:
    """Natural key: one provider event per call, source, sequence number and status."""
    parts = (
        str(fields.get(f) or "-")
        for f in ("CallSid", "CallbackSource", "SequenceNumber", "CallStatus")
    )
    return "voice:" + ":".join(parts)


def voice_status_command(
    payload: dict[str, Any], *, operation_id: str, project_id: str, trace_id: str
) -> RecordCallStatus:
    problems: list[str] = []
    command = RecordCallStatus(
        operation_id=operation_id,
        project_id=project_id,
        trace_id=trace_id,
        call_sid=str(payload["CallSid"]),
        status=str(payload["CallStatus"]),
        source=Source.WEBHOOK,
        provider_event_time=_time(payload, problems),
        sequence_number=_int(payload, "SequenceNumber", problems),
        direction=payload.get("Direction") or None,
        from_number=payload.get("From") or None,
        to_number=payload.get("To") or None,
        parent_call_sid=payload.get("ParentCallSid") or None,
        duration_seconds=_int(payload, "CallDuration", problems),
        sip_response_code=_int(payload, "SipResponseCode", problems),
    )
    if problems:
        raise MalformedCallback(problems)
    return command
