"""Argument types shared by the CLI's commands."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def iso_time(text: str) -> datetime:
    """ISO 8601 date or time; a time without a zone is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{text!r} is not an ISO 8601 time, e.g. 2026-03-02 or 2026-03-02T08:00Z"
        raise argparse.ArgumentTypeError(msg) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)
