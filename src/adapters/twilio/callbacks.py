"""Provider callbacks: parse the wire form; voice status: dedupe key and command."""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from domain.call_commands import RecordCallStatus
from domain.commands import Source

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
}
_TWILIO_DATE = re.compile(  # "Thu, 12 Feb 2026 11:48:25 +0000"
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), "
    r"(\d\d?) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) \+0000$"
)
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
        pairs = parse_form(text)
    except ValueError as exc:
        raise MalformedCallback([f"body is not form-encoded: {exc}"]) from exc
    _refuse_nul(pairs)
    fields: dict[str, Any] = {}
    for name, value in pairs:
        prior = fields.get(name)
        fields[name] = value if prior is None else [*_as_list(prior), value]
    return ParsedBody(pairs, fields, is_json=False)


def parse_form(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, strict_parsing=True)`, several times faster
    on provider bodies: most names and values need no unquoting at all."""
    if not text:
        return []
    pairs = []
    for piece in text.split("&"):
        name, sep, value = piece.partition("=")
        if not sep:
            raise ValueError(f"bad query field: {piece!r}")
        if "%" in piece or "+" in piece:
            name, value = (
                unquote_plus(name, errors="replace"),
                unquote_plus(value, errors="replace"),
            )
        pairs.append((name, value))
    return pairs


def _refuse_nul(pairs: Iterable[tuple[str, str]]) -> None:
    """PostgreSQL text cannot hold NUL: such a body could never be looked up or stored."""
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise MalformedCallback(["body contains a NUL character"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def required(fields: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """Each name present, once: what no worker could apply without."""
    problems = [f"{f} is required" for f in names if not fields.get(f)]
    problems += [f"{f} must appear once" for f in names if isinstance(fields.get(f), list)]
    return problems


def optional(fields: dict[str, Any], name: str) -> str | None:
    """A text field; absent and blank both mean unknown."""
    value = fields.get(name)
    return str(value) if value not in (None, "") else None


def dedupe_key(kind: str, fields: dict[str, Any], names: tuple[str, ...]) -> str:
    """The natural key of one provider event: the same event retried gives the same key."""
    return kind + ":" + ":".join(str(fields.get(f) or "-") for f in names)


def int_field(fields: dict[str, Any], name: str, problems: list[str]) -> int | None:
    value = fields.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        problems.append(f"{name} must be an integer")
        return None


def time_field(
    fields: dict[str, Any], problems: list[str], name: str = "Timestamp"
) -> datetime | None:
    value = fields.get(name)
    if not value:
        return None
    fast = _TWILIO_DATE.match(str(value))
    if fast and fast.group(2) in _MONTHS:  # Twilio's own shape, parsed cheaply
        day, month, year, hh, mm, ss = fast.groups()
        with contextlib.suppress(ValueError):  # e.g. 31 Feb: the general parser decides
            return datetime(
                int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC
            )
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        problems.append(f"{name} must be an RFC 2822 date")
        return None
    # Twilio sends UTC; "-0000" or no zone at all means UTC too, never a naive time.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_voice_status(fields: dict[str, Any]) -> None:
    """Reject what no worker could ever apply, before it is stored."""
    problems = required(fields, REQUIRED_VOICE_FIELDS)
    int_field(fields, "SequenceNumber", problems)
    int_field(fields, "CallDuration", problems)
    int_field(fields, "SipResponseCode", problems)
    time_field(fields, problems)
    if problems:
        raise MalformedCallback(problems)


def voice_dedupe_key(fields: dict[str, Any]) -> str:
    """Natural key: one provider event per call, source, sequence number and status."""
    return dedupe_key(
        "voice", fields, ("CallSid", "CallbackSource", "SequenceNumber", "CallStatus")
    )


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
        provider_event_time=time_field(payload, problems),
        sequence_number=int_field(payload, "SequenceNumber", problems),
        direction=payload.get("Direction") or None,
        from_number=payload.get("From") or None,
        to_number=payload.get("To") or None,
        parent_call_sid=payload.get("ParentCallSid") or None,
        duration_seconds=int_field(payload, "CallDuration", problems),
        sip_response_code=int_field(payload, "SipResponseCode", problems),
        answered_by=payload.get("AnsweredBy") or None,
    )
    if problems:
        raise MalformedCallback(problems)
    return command
