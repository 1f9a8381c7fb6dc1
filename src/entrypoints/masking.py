"""PII masking for anything shown to a person: phone numbers partly hidden; for operators
(dead letters) also secrets and message text removed; for audit exports phone numbers only,
unless the reader's role may see them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from entrypoints.observability import mask_phone

_SECRET = re.compile(r"token|secret|password|signature|auth", re.IGNORECASE)
# Message text, media and caller names never leave the store unmasked (ADR 0004).
_TEXT = frozenset({"Body", "MediaUrl0", "ChannelStatusMessage", "CallerName"})
_ADDRESSES = frozenset({"From", "To", "Caller", "Called", "ForwardedFrom"})
# Event fields holding numbers (domain/call.py, campaign contacts) plus the callback's.
PHONE_FIELDS = _ADDRESSES | {"from_number", "to_number", "phone_number"}
# E.164 anywhere, optionally behind a channel prefix (whatsapp:+1...).
_PHONE = re.compile(r"^(?:[a-z]+:)?\+\d{6,}$", re.IGNORECASE)
REDACTED = "[redacted]"


def mask_value(name: str, value: Any) -> Any:
    if isinstance(value, list):
        return [mask_value(name, v) for v in value]
    if not isinstance(value, str):
        return REDACTED if _SECRET.search(name) else value
    if _SECRET.search(name) or name in _TEXT:
        return REDACTED
    if name in _ADDRESSES or _PHONE.match(value):
        prefix, sep, number = value.rpartition(":")
        return f"{prefix}{sep}{mask_phone(number)}"
    if "@" in value and "://" in value:  # credentials in a URL
        parts = urlsplit(value)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return value


def mask_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Every field kept (an operator needs the shape), every value safe to show."""
    return {name: mask_value(name, value) for name, value in payload.items()}


def vars_of(record: Any) -> dict[str, Any]:
    """A slotted dataclass as a dict, shallow (asdict would deep-copy payloads)."""
    return {k: getattr(record, k) for k in record.__slots__}


def mask_phone_numbers(value: Any) -> Any:
    """A copy of `value` with every phone-number field masked, at any depth."""
    if isinstance(value, dict):
        return {
            k: mask_phone(v) if k in PHONE_FIELDS and isinstance(v, str) else mask_phone_numbers(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_phone_numbers(v) for v in value]
    return value
