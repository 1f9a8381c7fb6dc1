"""The Campaign aggregate: an outbound dialing campaign, its contacts and their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from msgspec import Meta

from domain.campaign_book import ContactBook, ContactData
from domain.campaign_rules import CampaignState, Limits, LimitsData
from domain.commands import CommandResult, Outcome

_CAMPAIGN_NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/campaign")
_SOURCE = "webhook, reconcile, api or manual_sync."


def campaign_id(project_id: str, campaign_key: str) -> UUID:
    """Deterministic aggregate id: one client key is one campaign, however often it is sent."""
    return uuid5(_CAMPAIGN_NAMESPACE, f"{project_id}/{campaign_key}")


def attempt_id(campaign: UUID, contact_id: str, number: int) -> str:
    """Deterministic attempt id: the n-th attempt on a contact is always the same id."""
    return str(uuid5(campaign, f"{contact_id}/{number}"))


class Campaign(Aggregate):
    """An outbound campaign. Operator and dialer commands are validated and may be refused
    (nothing is recorded); provider observations about attempts are always recorded.
    The decisions live in campaign_handlers; this class holds events and state."""

    class Event(Aggregate.Event):
        """Fields every campaign event carries."""

        project_id: Annotated[str, Meta(description="Tenant that owns the campaign.")]
        operation_id: Annotated[str, Meta(description="Idempotency key of the command.")]
        trace_id: Annotated[str, Meta(description="W3C trace id of the originating request.")]

    class Created(Event, Aggregate.Created):
        """A draft campaign was opened."""

        campaign_key: Annotated[str, Meta(description="Client's key, unique per project.")]
        name: Annotated[str, Meta(description="Human name of the campaign.")]
        limits: Annotated[LimitsData, Meta(description="Dialing limits, as plain data.")]

    class ContactsAdded(Event):
        """Contacts joined the campaign. phone_number is PII: never log this payload."""

        contacts: Annotated[
            list[ContactData], Meta(description="New contacts only; known ids are skipped.")
        ]

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.book.add(self.contacts)

    class Started(Event):
        """The campaign began dialing (draft to running)."""

        def apply(self, aggregate: Any) -> None:
            _enter(aggregate, CampaignState.RUNNING)

    class Paused(Event):
        """No new attempts until resumed; calls in flight go on."""

        def apply(self, aggregate: Any) -> None:
            _enter(aggregate, CampaignState.PAUSED)

    class Resumed(Event):
        """Dialing goes on after a pause."""

        def apply(self, aggregate: Any) -> None:
            _enter(aggregate, CampaignState.RUNNING)

    class Stopped(Event):
        """The campaign ended by command; it never runs again."""

        def apply(self, aggregate: Any) -> None:
            _enter(aggregate, CampaignState.STOPPED)

    class Completed(Event):
        """No contact has work left: each one succeeded or used every attempt."""

        contacts_succeeded: Annotated[int, Meta(description="Contacts with a success.")]
        contacts_exhausted: Annotated[int, Meta(description="Contacts out of attempts.")]

        def apply(self, aggregate: Any) -> None:
            _enter(aggregate, CampaignState.COMPLETED)

    class AttemptScheduled(Event):
        """A dialing slot was reserved for a contact."""

        attempt_id: Annotated[str, Meta(description="Deterministic attempt id (uuid5).")]
        contact_id: Annotated[str, Meta(description="Contact to dial.")]
        attempt_number: Annotated[int, Meta(description="1 for the first attempt, and so on.")]
        scheduled_at: Annotated[datetime, Meta(description="When to originate, UTC.")]

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.book.book(
                self.attempt_id, self.contact_id, self.attempt_number, self.scheduled_at
            )

    class AttemptStarted(Event):
        """The provider accepted the originate; the attempt is linked to its call."""

        attempt_id: Annotated[str, Meta(description="Attempt that was originated.")]
        call_sid: Annotated[str, Meta(description="Provider call SID that carries it.")]
        observed_at: Annotated[datetime | None, Meta(description="When the call was accepted.")]
        source: Annotated[str, Meta(description=_SOURCE)]

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.book.attempts[self.attempt_id].call_sid = self.call_sid

    class AttemptStatusChanged(Event):
        """A provider observation moved the attempt forward."""

        attempt_id: Annotated[str, Meta(description="Attempt observed.")]
        status: Annotated[str, Meta(description="Attempt status now in force.")]
        observed_at: Annotated[datetime | None, Meta(description="Provider event time, UTC.")]
        source: Annotated[str, Meta(description=_SOURCE)]

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.book.move(self.attempt_id, self.status, self.observed_at)

    class AttemptObservationIgnored(Event):
        """A provider observation was kept as history but not applied, and why."""

        attempt_id: Annotated[str, Meta(description="Attempt the observation named.")]
        observed: Annotated[str, Meta(description="Status or call SID it claimed.")]
        observed_at: Annotated[datetime | None, Meta(description="Provider event time, UTC.")]
        source: Annotated[str, Meta(description=_SOURCE)]
        reason: Annotated[str, Meta(description="stale, duplicate, after_final, ...")]

        def apply(self, aggregate: Any) -> None:
            """Ignored observations are history only; they never change state."""

    class AttemptFinished(Event):
        """The attempt was settled with its business result."""

        attempt_id: Annotated[str, Meta(description="Attempt settled.")]
        result: Annotated[str, Meta(description="no-answer, busy, success, callback-needed.")]
        status: Annotated[str, Meta(description="Final attempt status in force after it.")]
        finished_at: Annotated[datetime, Meta(description="When the attempt ended, UTC.")]
        callback_at: Annotated[datetime | None, Meta(description="Requested callback, UTC.")]

        def apply(self, aggregate: Any) -> None:
            campaign: Campaign = aggregate
            campaign.book.settle(
                self.attempt_id, self.result, self.status, self.finished_at, self.callback_at
            )

    @event(Created)
    def __init__(
        self,
        *,
        project_id: str,
        operation_id: str,
        trace_id: str,
        campaign_key: str,
        name: str,
        limits: LimitsData,
    ) -> None:
        self.project_id = project_id
        self.campaign_key = campaign_key
        self.name = name
        self.created_by = operation_id
        self.state = CampaignState.DRAFT
        self.book = ContactBook(Limits.from_data(limits))

    @staticmethod
    def create_id(project_id: str, campaign_key: str, **_: Any) -> UUID:
        return campaign_id(project_id, campaign_key)

    @property
    def limits(self) -> Limits:
        return self.book.limits

    def emit(self, event_class: type[Any], operation_id: str, trace_id: str, **fields: Any) -> None:
        self.trigger_event(
            event_class,
            project_id=self.project_id,
            operation_id=operation_id,
            trace_id=trace_id,
            **fields,
        )

    def result(
        self, operation_id: str, outcome: Outcome = Outcome.APPLIED, reason: str | None = None
    ) -> CommandResult:
        return CommandResult(
            operation_id=operation_id, outcome=outcome, reason=reason, aggregate_id=str(self.id)
        )


def _enter(aggregate: Any, state: CampaignState) -> None:
    campaign: Campaign = aggregate
    campaign.state = state
