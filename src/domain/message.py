"""The Message aggregate: one provider message's append-only history and what it established."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from msgspec import Meta

from domain.commands import CommandResult, Outcome
from domain.message_commands import RecordMessageStatus
from domain.message_facts import MessageFacts
from domain.message_status import (
    EARLIER,
    FINAL,
    MessageStatus,
    judge_message_observation,
    parse_channel,
    parse_message_status,
)

__all__ = ["Message", "RecordMessageStatus", "message_id", "record_message_status"]

_MESSAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/message")


def message_id(project_id: str, message_sid: str) -> UUID:
    """Deterministic aggregate id: the same provider message always maps to the same stream."""
    return uuid5(_MESSAGE_NAMESPACE, f"{project_id}/{message_sid}")


def _doc(text: str) -> Meta:
    return Meta(description=text)


def _utc(when: datetime | None) -> datetime | None:
    """Times without a zone (RawDlrDoneDate has none) are read as UTC, so they compare."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


class Message(Aggregate):
    """A provider message. Status only moves forward along the transition table; facts
    (times, errors, statuses reached) are merged from every observation, applied or not,
    so any delivery order with any duplicates ends in the state in-order delivery gives."""

    class Event(Aggregate.Event):
        """Every message event names its tenant, its message, and the operation behind it."""

        project_id: Annotated[str, _doc("Tenant that owns the message.")]
        message_sid: Annotated[str, _doc("Provider message SID (SM..., MM...).")]
        operation_id: Annotated[str, _doc("Idempotency key of the command that caused it.")]
        trace_id: Annotated[str, _doc("W3C trace id of the originating request.")]

    class Created(Event, Aggregate.Created):
        """The first thing heard about a message opened its stream.

        No body text: the log is immutable and fans out to NATS and ClickHouse, where an
        erasure request cannot follow. Its length and segments are enough for analytics and
        billing; the text belongs in a deletable store keyed by message id.
        """

        channel: Annotated[str | None, _doc("sms, whatsapp, telegram or email, as reported.")]
        direction: Annotated[str | None, _doc("inbound, outbound-api, -call or -reply.")]
        from_address: Annotated[str | None, _doc("Sender: E.164, whatsapp:..., e-mail (PII).")]
        to_address: Annotated[str | None, _doc("Recipient: E.164, whatsapp:..., e-mail (PII).")]
        messaging_service_sid: Annotated[str | None, _doc("Messaging Service (MG...) used.")]
        template_id: Annotated[str | None, _doc("message_templates id (or ContentSid) used.")]
        contact_id: Annotated[str | None, _doc("crm_contacts id of the other party, if known.")]
        campaign_id: Annotated[str | None, _doc("Campaign that sent it, if any.")]
        body_chars: Annotated[int | None, _doc("Body length in characters; never the text.")]
        segments: Annotated[int | None, _doc("Billable segments (num_segments).")]

    class StatusObserved(Event):
        """The provider's status was applied: the message moved forward."""

        status: Annotated[str, _doc("Provider status now in force.")]
        provider_event_time: Annotated[datetime | None, _doc("RawDlrDoneDate or REST time.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]
        error_code: Annotated[int | None, _doc("ErrorCode as observed (failed, undelivered).")]
        error_message: Annotated[str | None, _doc("Error description as observed.")]

        def apply(self, aggregate: Any) -> None:
            message: Message = aggregate
            status = MessageStatus(self.status)
            message.status = status
            message.facts = message.facts.reach(status, self.provider_event_time)
            if status in FINAL and message.final_since is None:
                message.final_since = self.timestamp

    class Reached(Event):
        """A status the message reached, learned from an observation that did not move it.

        A late `delivered` carrying its done date after `read`, a read receipt after
        `undelivered`, an earlier time for the status in force. Dropping these would make
        the state depend on arrival order, so they are facts of their own.
        """

        status: Annotated[str, _doc("Status the message is known to have reached.")]
        provider_event_time: Annotated[datetime | None, _doc("When, by the provider.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]

        def apply(self, aggregate: Any) -> None:
            message: Message = aggregate
            status = MessageStatus(self.status)
            message.facts = message.facts.reach(status, self.provider_event_time)

    class ErrorRecorded(Event):
        """The provider reported an error not known before (a `message_errors` row).

        Recorded whatever the status verdict: a `failed` arriving after `read` cannot move
        the status, yet its ErrorCode is the only trace of what went wrong.
        """

        error_code: Annotated[int, _doc("Provider error code, e.g. 30003 or 63016.")]
        error_message: Annotated[str | None, _doc("Description or ChannelStatusMessage.")]
        status: Annotated[str, _doc("Status the error was reported with.")]
        provider_event_time: Annotated[datetime | None, _doc("When, by the provider.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]

        def apply(self, aggregate: Any) -> None:
            message: Message = aggregate
            message.facts = message.facts.with_error(
                self.error_code, self.status, self.error_message
            )

    class ObservationIgnored(Event):
        """An observation whose status was not applied, kept with the reason."""

        status: Annotated[str, _doc("Status the observation claimed.")]
        provider_event_time: Annotated[datetime | None, _doc("Provider event time.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]
        error_code: Annotated[int | None, _doc("ErrorCode as observed.")]
        error_message: Annotated[str | None, _doc("Error description as observed.")]
        reason: Annotated[str, _doc("stale, duplicate, after_final, ...")]

        def apply(self, aggregate: Any) -> None:
            """History only; any fact it carried follows as Reached or ErrorRecorded."""

    @event(Created)
    def __init__(
        self,
        *,
        project_id: str,
        message_sid: str,
        operation_id: str,
        trace_id: str,
        channel: str | None,
        direction: str | None,
        from_address: str | None,
        to_address: str | None,
        messaging_service_sid: str | None,
        template_id: str | None,
        contact_id: str | None,
        campaign_id: str | None,
        body_chars: int | None,
        segments: int | None,
    ) -> None:
        self.project_id = project_id
        self.message_sid = message_sid
        self.channel = parse_channel(channel)  # an unknown channel stays in history only
        self.direction = direction
        self.from_address = from_address
        self.to_address = to_address
        self.messaging_service_sid = messaging_service_sid
        self.template_id = template_id
        self.contact_id = contact_id
        self.campaign_id = campaign_id
        self.body_chars = body_chars
        self.segments = segments
        self.status: MessageStatus | None = None  # until a status we understand arrives
        self.facts = MessageFacts()
        self.final_since: datetime | None = None

    @staticmethod
    def create_id(project_id: str, message_sid: str, **_: Any) -> UUID:
        return message_id(project_id, message_sid)

    @property
    def is_final(self) -> bool:
        return self.status is not None and self.status in FINAL

    @property
    def finalized_at(self) -> datetime | None:
        """When the outcome became known: the earliest provider time of a final status on the
        path to the current one (a late `delivered` done date, under `read`), else when we
        recorded it. Only that fallback depends on arrival order, because no time was given.
        A conflicting claim (`failed` under `delivered`) is a fact, not the outcome."""
        if self.status is None or self.status not in FINAL:
            return None
        path = EARLIER[self.status] | {self.status}
        times = [t for s, t in self.facts.times.items() if s in FINAL and s in path]
        return min(times) if times else self.final_since

    @classmethod
    def open(cls, cmd: RecordMessageStatus) -> Message:
        """Start a message's stream from the first thing we hear about it."""
        return cls(
            project_id=cmd.project_id,
            message_sid=cmd.message_sid,
            operation_id=cmd.operation_id,
            trace_id=cmd.trace_id,
            channel=cmd.channel,
            direction=cmd.direction,
            from_address=cmd.from_address,
            to_address=cmd.to_address,
            messaging_service_sid=cmd.messaging_service_sid,
            template_id=cmd.template_id,
            contact_id=cmd.contact_id,
            campaign_id=cmd.campaign_id,
            body_chars=cmd.body_chars,
            segments=cmd.segments,
        )

    def _emit(self, cls: type[Event], cmd: RecordMessageStatus, **fields: Any) -> None:
        self.trigger_event(
            cls,
            project_id=self.project_id,
            message_sid=self.message_sid,
            operation_id=cmd.operation_id,
            trace_id=cmd.trace_id,
            source=str(cmd.source),
            **fields,
        )

    def record_status(self, cmd: RecordMessageStatus) -> CommandResult:
        """One verdict event (applied or ignored, with the reason), then any new facts."""
        at = _utc(cmd.provider_event_time)
        observed = parse_message_status(cmd.status)
        reason = judge_message_observation(self.status, observed)
        observation = {"status": cmd.status, "provider_event_time": at}
        error = {"error_code": cmd.error_code, "error_message": cmd.error_message}
        if reason is None:
            self._emit(self.StatusObserved, cmd, **observation, **error)
        else:
            self._emit(self.ObservationIgnored, cmd, reason=str(reason), **observation, **error)
            if observed is not None and self.facts.reach(observed, at) != self.facts:
                self._emit(self.Reached, cmd, **observation)
        if cmd.error_code is not None:
            merged = self.facts.with_error(cmd.error_code, cmd.status, cmd.error_message)
            if merged != self.facts:
                self._emit(self.ErrorRecorded, cmd, **observation, **error)
        return CommandResult(
            operation_id=cmd.operation_id,
            outcome=Outcome.IGNORED if reason else Outcome.APPLIED,
            reason=str(reason) if reason else None,
            aggregate_id=str(self.id),
        )


def record_message_status(
    message: Message | None, cmd: RecordMessageStatus
) -> tuple[Message, CommandResult]:
    """The command handler: open the stream on first sight, then record the observation."""
    target = Message.open(cmd) if message is None else message
    return target, target.record_status(cmd)
