"""Why a campaign command is rejected: one code per rule, grouped by what the caller did wrong."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class RuleCode(StrEnum):
    """Stable, machine-readable rejection codes; the API maps them to its error body."""

    # The command itself is malformed or contradicts the campaign's configuration (422).
    INVALID_CAMPAIGN = "invalid_campaign"
    INVALID_LIMITS = "invalid_limits"
    INVALID_CONTACTS = "invalid_contacts"
    NAIVE_DATETIME = "naive_datetime"
    INVALID_CALLBACK = "invalid_callback"
    OUTSIDE_WORKING_WINDOW = "outside_working_window"
    # Something the command names does not exist in this project (404).
    CAMPAIGN_NOT_FOUND = "campaign_not_found"
    UNKNOWN_CONTACT = "unknown_contact"
    UNKNOWN_ATTEMPT = "unknown_attempt"
    # The command is well formed but conflicts with the campaign's current state (409).
    CAMPAIGN_EXISTS = "campaign_exists"
    INVALID_TRANSITION = "invalid_transition"
    CAMPAIGN_CLOSED = "campaign_closed"
    NO_CONTACTS = "no_contacts"
    CONTACT_CONFLICT = "contact_conflict"
    CAMPAIGN_NOT_RUNNING = "campaign_not_running"
    CONTACT_SUCCEEDED = "contact_succeeded"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    ATTEMPT_OPEN = "attempt_open"
    CONCURRENCY_LIMIT = "concurrency_limit"
    BEFORE_RETRY_TIME = "before_retry_time"
    ATTEMPT_ALREADY_FINISHED = "attempt_already_finished"
    RESULT_CONTRADICTS_STATUS = "result_contradicts_status"


class CampaignRuleViolation(Exception):
    """A campaign command was refused; nothing was recorded."""

    def __init__(self, code: RuleCode, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class InvalidCampaignCommand(CampaignRuleViolation):
    """The command can never succeed as written (HTTP 422)."""


class CampaignNotFound(CampaignRuleViolation):
    """The campaign, contact or attempt named does not exist in this project (HTTP 404)."""


class CampaignConflict(CampaignRuleViolation):
    """The command is valid but the campaign's current state forbids it (HTTP 409)."""
