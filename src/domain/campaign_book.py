"""A campaign's record of contacts and attempts: queries for its rules, mutations for its events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, TypedDict

from msgspec import Meta

from domain.campaign_errors import CampaignConflict, InvalidCampaignCommand, RuleCode
from domain.campaign_rules import (
    FINAL,
    AttemptResult,
    AttemptStatus,
    CampaignState,
    Limits,
    attempt_refusal,
    next_attempt_time,
)

MAX_CONTACTS_PER_BATCH = 1000
MAX_CONTACT_ID_LENGTH = 128
_E164 = re.compile(r"\+[1-9]\d{6,14}")


class ContactData(TypedDict):
    """A contact as plain data. phone_number is PII: never log it."""

    contact_id: Annotated[str, Meta(description="Client's id for the contact (a lead id).")]
    phone_number: Annotated[str, Meta(description="E.164 number to dial (PII).")]


@dataclass
class Attempt:
    attempt_id: str
    contact_id: str
    number: int
    scheduled_at: datetime
    status: AttemptStatus = AttemptStatus.INIT
    call_sid: str | None = None
    last_observed_at: datetime | None = None
    result: AttemptResult | None = None
    finished_at: datetime | None = None
    callback_at: datetime | None = None

    @property
    def settled(self) -> bool:
        """No more news is needed before the contact may be dialled again."""
        return self.result is not None or self.status is AttemptStatus.CANCELED


@dataclass
class ContactBook:
    limits: Limits
    contacts: dict[str, str] = field(default_factory=dict)  # contact_id -> phone (PII)
    attempts: dict[str, Attempt] = field(default_factory=dict)
    by_contact: dict[str, list[str]] = field(default_factory=dict)
    succeeded: set[str] = field(default_factory=set)
    unfinished: set[str] = field(default_factory=set)  # contacts with work left
    active: set[str] = field(default_factory=set)  # attempts holding a line

    def last_attempt(self, contact_id: str) -> Attempt | None:
        ids = self.by_contact.get(contact_id)
        return self.attempts[ids[-1]] if ids else None

    def attempts_used(self, contact_id: str) -> int:
        return len(self.by_contact.get(contact_id, ()))

    def refusal(self, state: CampaignState, contact_id: str) -> RuleCode | None:
        last = self.last_attempt(contact_id)
        return attempt_refusal(
            state,
            self.limits,
            attempts_used=self.attempts_used(contact_id),
            succeeded=contact_id in self.succeeded,
            open_attempt=last is not None and not last.settled,
            active_calls=len(self.active),
        )

    def earliest_retry(self, contact_id: str) -> datetime | None:
        """When the contact may be dialled again; None means no wait (first attempt, or the
        last one was canceled before it had a result)."""
        last = self.last_attempt(contact_id)
        if last is None or last.result is None or last.finished_at is None:
            return None
        return next_attempt_time(self.limits, last.finished_at, last.result, last.callback_at)

    @property
    def all_done(self) -> bool:
        return bool(self.contacts) and not self.unfinished

    def new_contacts(self, batch: list[tuple[str, str]]) -> list[ContactData]:
        """Validate a batch; return the contacts not yet known, first occurrence kept."""
        if not 1 <= len(batch) <= MAX_CONTACTS_PER_BATCH:
            raise InvalidCampaignCommand(
                RuleCode.INVALID_CONTACTS,
                f"send between 1 and {MAX_CONTACTS_PER_BATCH} contacts per command",
            )
        fresh: dict[str, str] = {}
        for contact_id, phone in batch:
            # Messages name the contact id only: phone numbers must not reach logs.
            if not 1 <= len(contact_id) <= MAX_CONTACT_ID_LENGTH:
                raise InvalidCampaignCommand(
                    RuleCode.INVALID_CONTACTS,
                    f"contact_id must be 1 to {MAX_CONTACT_ID_LENGTH} characters",
                )
            if not _E164.fullmatch(phone):
                raise InvalidCampaignCommand(
                    RuleCode.INVALID_CONTACTS,
                    f"contact {contact_id!r}: phone_number is not E.164 (+ and 7-15 digits)",
                    contact_id=contact_id,
                )
            known = fresh.get(contact_id, self.contacts.get(contact_id))
            if known is not None and known != phone:
                raise CampaignConflict(
                    RuleCode.CONTACT_CONFLICT,
                    f"contact {contact_id!r} is already listed with another phone number",
                    contact_id=contact_id,
                )
            if contact_id not in self.contacts:
                fresh.setdefault(contact_id, phone)
        return [{"contact_id": c, "phone_number": p} for c, p in fresh.items()]

    # Mutations: called only from event apply methods, so replay rebuilds the same book.

    def add(self, contacts: list[ContactData]) -> None:
        for contact in contacts:
            self.contacts[contact["contact_id"]] = contact["phone_number"]
            self.unfinished.add(contact["contact_id"])

    def book(self, attempt_id: str, contact_id: str, number: int, at: datetime) -> None:
        self.attempts[attempt_id] = Attempt(attempt_id, contact_id, number, at)
        self.by_contact.setdefault(contact_id, []).append(attempt_id)
        self.active.add(attempt_id)

    def move(self, attempt_id: str, status: str, observed_at: datetime | None) -> None:
        attempt = self.attempts[attempt_id]
        attempt.status = AttemptStatus(status)
        if observed_at is not None:
            attempt.last_observed_at = observed_at
        self._refresh(attempt)

    def settle(
        self,
        attempt_id: str,
        result: str,
        status: str,
        finished_at: datetime,
        callback_at: datetime | None,
    ) -> None:
        attempt = self.attempts[attempt_id]
        attempt.result = AttemptResult(result)
        attempt.status = AttemptStatus(status)
        attempt.finished_at = finished_at
        attempt.callback_at = callback_at
        if attempt.result is AttemptResult.SUCCESS:
            self.succeeded.add(attempt.contact_id)
        self._refresh(attempt)

    def _refresh(self, attempt: Attempt) -> None:
        if attempt.status in FINAL:
            self.active.discard(attempt.attempt_id)
        contact = attempt.contact_id
        exhausted = self.attempts_used(contact) >= self.limits.max_attempts_per_contact
        last = self.last_attempt(contact)
        if contact in self.succeeded or (exhausted and last is not None and last.settled):
            self.unfinished.discard(contact)
