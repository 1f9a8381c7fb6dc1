"""CampaignsViewProjection: `campaigns`, `campaign_contacts` and `campaign_results` rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from domain.campaign import Campaign
from domain.campaign_rules import FINAL, AttemptResult, AttemptStatus, CampaignState
from projections.positioned import PositionedEvent, ReadsEvents

# Owned by the SQL recount (adapters/postgres/campaigns_view.py), never by this fold.
COUNTERS = (
    "contacts",
    "attempts",
    "in_flight",
    "succeeded",
    "exhausted",
    "result_no_answer",
    "result_busy",
    "result_success",
    "result_callback_needed",
)
FINAL_STATUSES = tuple(sorted(s.value for s in FINAL))


class CampaignRow(msgspec.Struct, kw_only=True):
    """One row of `campaigns`: state, limits and counters (counters: see COUNTERS)."""

    project_id: str
    campaign_id: str
    campaign_key: str
    name: str
    state: str = CampaignState.DRAFT.value
    limits: dict[str, Any] = msgspec.field(default_factory=dict)
    contacts: int = 0
    attempts: int = 0
    in_flight: int = 0
    succeeded: int = 0
    exhausted: int = 0
    result_no_answer: int = 0
    result_busy: int = 0
    result_success: int = 0
    result_callback_needed: int = 0
    started_at: datetime | None = None
    closed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    last_position: int = 0


class ContactRow(msgspec.Struct, kw_only=True):
    """One row of `campaign_contacts`. phone_number is PII: mask it in every response."""

    project_id: str
    campaign_id: str
    contact_id: str
    phone_number: str
    attempts_used: int = 0
    last_attempt_id: str | None = None
    last_status: str | None = None
    last_result: str | None = None
    succeeded: bool = False
    exhausted: bool = False
    added_at: datetime | None = None
    updated_at: datetime | None = None
    last_position: int = 0


class AttemptRow(msgspec.Struct, kw_only=True):
    """One row of `campaign_results`: one dialing attempt, its status and business result."""

    project_id: str
    campaign_id: str
    attempt_id: str
    contact_id: str
    attempt_number: int
    status: str = AttemptStatus.INIT.value
    result: str | None = None
    call_sid: str | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    last_observed_at: datetime | None = None
    finished_at: datetime | None = None
    callback_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_position: int = 0


class CampaignView(msgspec.Struct, kw_only=True):
    """A campaign's row with the contact and attempt rows a batch of its events touches."""

    campaign: CampaignRow
    contacts: dict[str, ContactRow] = msgspec.field(default_factory=dict)
    attempts: dict[str, AttemptRow] = msgspec.field(default_factory=dict)


class CampaignsViewProjection(ReadsEvents):
    """Folds Campaign events into rows; the campaign's counters are recounted from those rows.

    A contact is exhausted when it has no success, has used every attempt its limits allow,
    and its last attempt is settled: exactly when the aggregate stops having work for it.
    """

    name = "campaigns_view"

    reads = (Campaign.Event,)

    @staticmethod
    def key(event: Any) -> tuple[str, str]:
        return event.project_id, str(event.originator_id)

    @staticmethod
    def apply(view: CampaignView | None, item: PositionedEvent) -> CampaignView:
        event = item.event
        if isinstance(event, Campaign.Created):
            view = CampaignView(campaign=_created(event))
        elif view is None:
            msg = f"event at position {item.position} arrived before its campaign was created"
            raise LookupError(msg)
        else:
            _FOLD.get(type(event), _unchanged)(view, item)
        row = view.campaign
        row.version = event.originator_version
        row.last_position = item.position
        row.updated_at = event.timestamp
        return view


def _created(event: Any) -> CampaignRow:
    return CampaignRow(
        project_id=event.project_id,
        campaign_id=str(event.originator_id),
        campaign_key=event.campaign_key,
        name=event.name,
        limits=dict(event.limits),
        created_at=event.timestamp,
    )


def _unchanged(view: CampaignView, item: PositionedEvent) -> None:
    """Ignored attempt observations are history only."""


Fold = Callable[["CampaignView", PositionedEvent], None]


def _state(state: CampaignState) -> Fold:
    def enter(view: CampaignView, item: PositionedEvent) -> None:
        row = view.campaign
        row.state = state.value
        if state is CampaignState.RUNNING and row.started_at is None:
            row.started_at = item.event.timestamp
        if state in (CampaignState.STOPPED, CampaignState.COMPLETED):
            row.closed_at = item.event.timestamp

    return enter


def _contacts_added(view: CampaignView, item: PositionedEvent) -> None:
    e = item.event
    for c in e.contacts:
        view.contacts.setdefault(
            c["contact_id"],
            ContactRow(
                project_id=e.project_id,
                campaign_id=view.campaign.campaign_id,
                contact_id=c["contact_id"],
                phone_number=c["phone_number"],
                added_at=e.timestamp,
                updated_at=e.timestamp,
                last_position=item.position,
            ),
        )


def _scheduled(view: CampaignView, item: PositionedEvent) -> None:
    e = item.event
    view.attempts[e.attempt_id] = AttemptRow(
        project_id=e.project_id,
        campaign_id=view.campaign.campaign_id,
        attempt_id=e.attempt_id,
        contact_id=e.contact_id,
        attempt_number=e.attempt_number,
        scheduled_at=e.scheduled_at,
        created_at=e.timestamp,
        updated_at=e.timestamp,
        last_position=item.position,
    )
    contact = _contact(view, e.contact_id, item)
    contact.attempts_used = max(contact.attempts_used, e.attempt_number)
    contact.last_attempt_id = e.attempt_id
    _touch(view, view.attempts[e.attempt_id], contact, item)


def _started(view: CampaignView, item: PositionedEvent) -> None:
    attempt = _attempt(view, item)
    attempt.call_sid = item.event.call_sid
    attempt.started_at = item.event.observed_at or item.event.timestamp
    attempt.updated_at, attempt.last_position = item.event.timestamp, item.position


def _status_changed(view: CampaignView, item: PositionedEvent) -> None:
    attempt = _attempt(view, item)
    attempt.status = item.event.status
    if item.event.observed_at is not None:
        attempt.last_observed_at = item.event.observed_at
    _touch(view, attempt, _contact(view, attempt.contact_id, item), item)


def _finished(view: CampaignView, item: PositionedEvent) -> None:
    e, attempt = item.event, _attempt(view, item)
    attempt.result, attempt.status = e.result, e.status
    attempt.finished_at, attempt.callback_at = e.finished_at, e.callback_at
    contact = _contact(view, attempt.contact_id, item)
    contact.succeeded = contact.succeeded or e.result == AttemptResult.SUCCESS.value
    _touch(view, attempt, contact, item)


def _touch(
    view: CampaignView, attempt: AttemptRow, contact: ContactRow, item: PositionedEvent
) -> None:
    """Mirror the contact's last attempt and re-derive whether the contact is exhausted."""
    for row in (attempt, contact):
        row.updated_at, row.last_position = item.event.timestamp, item.position
    if contact.last_attempt_id == attempt.attempt_id:
        contact.last_status, contact.last_result = attempt.status, attempt.result
    canceled = contact.last_status == AttemptStatus.CANCELED.value
    settled = contact.last_result is not None or canceled
    allowed = int(view.campaign.limits.get("max_attempts_per_contact", 1))
    contact.exhausted = not contact.succeeded and contact.attempts_used >= allowed and settled


def _attempt(view: CampaignView, item: PositionedEvent) -> AttemptRow:
    attempt = view.attempts.get(item.event.attempt_id)
    if attempt is None:
        msg = f"event at position {item.position} names an attempt that was never scheduled"
        raise LookupError(msg)
    return attempt


def _contact(view: CampaignView, contact_id: str, item: PositionedEvent) -> ContactRow:
    contact = view.contacts.get(contact_id)
    if contact is None:
        msg = f"event at position {item.position} names a contact that was never added"
        raise LookupError(msg)
    return contact


_FOLD: dict[type[Any], Fold] = {
    Campaign.ContactsAdded: _contacts_added,
    Campaign.Started: _state(CampaignState.RUNNING),
    Campaign.Resumed: _state(CampaignState.RUNNING),
    Campaign.Paused: _state(CampaignState.PAUSED),
    Campaign.Stopped: _state(CampaignState.STOPPED),
    Campaign.Completed: _state(CampaignState.COMPLETED),
    Campaign.AttemptScheduled: _scheduled,
    Campaign.AttemptStarted: _started,
    Campaign.AttemptStatusChanged: _status_changed,
    Campaign.AttemptFinished: _finished,
}
