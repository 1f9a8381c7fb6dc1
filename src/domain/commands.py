"""What every command shares: its source, and the result a repeat of it reports again."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Source(StrEnum):
    """Where an observation of the provider's state came from."""

    WEBHOOK = "webhook"
    RECONCILE = "reconcile"
    API = "api"
    MANUAL_SYNC = "manual_sync"


class Outcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did; returned again, unchanged, for a repeated operation_id."""

    operation_id: str
    outcome: Outcome
    reason: str | None = None
    aggregate_id: str | None = None
