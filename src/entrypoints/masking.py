"""Phone numbers in audit exports: masked unless the reader's role may see them."""

from __future__ import annotations

from typing import Any

from entrypoints.observability import mask_phone

PHONE_FIELDS = frozenset(
    {
        # event fields (domain/call.py, campaign contacts)
        "from_number",
        "to_number",
        "phone_number",
        # Twilio callback parameters
        "From",
        "To",
        "Caller",
        "Called",
        "ForwardedFrom",
    }
)


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
