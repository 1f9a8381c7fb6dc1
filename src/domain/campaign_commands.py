"""Campaign commands: imperative requests, each keyed by an operation_id for idempotency."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from domain.campaign_limits import Limits
from domain.campaign_rules import AttemptResult
from domain.commands import Source


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """Someone to dial. phone_number is personal data: never log it, mask it in read models."""

    contact_id: str
    phone_number: str


class CampaignCommand(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every command on an existing campaign carries.

    Repeating a command with the same operation_id is a no-op that reports the first outcome
    (the operations table answers it before the aggregate is loaded).
    """

    operation_id: str
    project_id: str
    campaign_id: UUID
    trace_id: str = ""


class CreateCampaign(msgspec.Struct, frozen=True, kw_only=True):
    """Create a draft campaign; campaign_key is the client's own name for it, unique per project."""

    operation_id: str
    project_id: str
    campaign_key: str
    name: str
    limits: Limits
    trace_id: str = ""


class AddContacts(CampaignCommand, frozen=True, kw_only=True):
    contacts: list[Contact]


class StartCampaign(CampaignCommand, frozen=True, kw_only=True):
    pass


class PauseCampaign(CampaignCommand, frozen=True, kw_only=True):
    pass


class ResumeCampaign(CampaignCommand, frozen=True, kw_only=True):
    pass


class StopCampaign(CampaignCommand, frozen=True, kw_only=True):
    pass


class ScheduleAttempt(CampaignCommand, frozen=True, kw_only=True):
    """Reserve a dialing slot for a contact at scheduled_at (the dialer's decision)."""

    contact_id: str
    scheduled_at: datetime


class StartAttempt(CampaignCommand, frozen=True, kw_only=True):
    """The provider accepted the originate: link the attempt to its call."""

    attempt_id: str
    call_sid: str
    observed_at: datetime | None = None
    source: Source = Source.API


class RecordAttemptStatus(CampaignCommand, frozen=True, kw_only=True):
    """What the provider says about an attempt's call; late or odd news is kept, not applied."""

    attempt_id: str
    status: str
    observed_at: datetime | None = None
    source: Source = Source.WEBHOOK


class FinishAttempt(CampaignCommand, frozen=True, kw_only=True):
    """Settle an attempt with its business result; callback_at only for callback-needed."""

    attempt_id: str
    result: AttemptResult
    finished_at: datetime
    callback_at: datetime | None = None
