"""The Call aggregate: one provider call's append-only history and the rules that guard it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from msgspec import Meta

from domain.call_status import FINAL, CallStatus, IgnoreReason, judge_observation, parse_status
from domain.commands import CommandResult, Outcome, RecordCallStatus

_CALL_NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/call")


def call_id(project_id: str, call_sid: str) -> UUID:
    """Deterministic aggregate id: the same provider call always maps to the same stream."""
    return uuid5(_CALL_NAMESPACE, f"{project_id}/{call_sid}")


class Call(Aggregate):
    """A provider call. Status only moves forward; every observation is kept, applied or not."""

    class Event(Aggregate.Event):
        project_id: Annotated[str, Meta(description="Tenant that owns the call.")]
        operation_id: Annotated[str, Meta(description="Idempotency key of the command.")]
        trace_id: Annotated[str, Meta(description="W3C trace id of the originating request.")]
        call_sid: Annotated[str, Meta(description="Provider call SID (CA...).")]

    class Created(Event, Aggregate.Created):
        direction: Annotated[str | None, Meta(description="inbound, outbound-api, outbound-dial.")]
        from_number: Annotated[str | None, Meta(description="Caller, E.164 or client:/sip:.")]
        to_number: Annotated[str | None, Meta(description="Callee, E.164 or client:/sip:.")]
        parent_call_sid: Annotated[str | None, Meta(description="Parent leg SID for child legs.")]

    class StatusObserved(Event):
        status: Annotated[str, Meta(description="Provider status now in force.")]
        provider_event_time: Annotated[
            datetime | None, Meta(description="When the provider fired the event.")
        ]
        sequence_number: Annotated[int | None, Meta(description="Provider SequenceNumber.")]
        source: Annotated[str, Meta(description="webhook, reconcile, api or manual_sync.")]
        duration_seconds: Annotated[int | None, Meta(description="CallDuration, final only.")]
        sip_response_code: Annotated[int | None, Meta(description="Final SIP response code.")]

        def apply(self, aggregate: Any) -> None:
            call: Call = aggregate
            call.status = CallStatus(self.status)
            if self.sequence_number is not None:
                call.last_sequence_number = self.sequence_number
            if self.provider_event_time is not None:
                call.last_event_time = self.provider_event_time
            if self.duration_seconds is not None:
                call.duration_seconds = self.duration_seconds
            if self.sip_response_code is not None:
                call.sip_response_code = self.sip_response_code
            if call.status in FINAL and call.finalized_at is None:
                call.finalized_at = self.provider_event_time or self.timestamp

    class ObservationIgnored(Event):
        status: Annotated[str, Meta(description="Status the observation claimed.")]
        provider_event_time: Annotated[datetime | None, Meta(description="Provider event time.")]
        sequence_number: Annotated[int | None, Meta(description="Provider SequenceNumber.")]
        source: Annotated[str, Meta(description="webhook, reconcile, api or manual_sync.")]
        reason: Annotated[str, Meta(description="stale, duplicate, after_final, ...")]

        def apply(self, aggregate: Any) -> None:
            """Ignored observations are history only; they never change state."""

    @event(Created)
    def __init__(
        self,
        *,
        project_id: str,
        operation_id: str,
        trace_id: str,
        call_sid: str,
        direction: str | None,
        from_number: str | None,
        to_number: str | None,
        parent_call_sid: str | None,
    ) -> None:
        self.project_id = project_id
        self.call_sid = call_sid
        self.direction = direction
        self.from_number = from_number
        self.to_number = to_number
        self.parent_call_sid = parent_call_sid
        self.status = CallStatus.QUEUED
        self.last_sequence_number: int | None = None
        self.last_event_time: datetime | None = None
        self.duration_seconds: int | None = None
        self.sip_response_code: int | None = None
        self.finalized_at: datetime | None = None

    @staticmethod
    def create_id(project_id: str, call_sid: str, **_: Any) -> UUID:
        return call_id(project_id, call_sid)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @classmethod
    def open(cls, cmd: RecordCallStatus) -> Call:
        """Start a call's stream from the first thing we hear about it."""
        return cls(
            project_id=cmd.project_id,
            operation_id=cmd.operation_id,
            trace_id=cmd.trace_id,
            call_sid=cmd.call_sid,
            direction=cmd.direction,
            from_number=cmd.from_number,
            to_number=cmd.to_number,
            parent_call_sid=cmd.parent_call_sid,
        )

    def record_status(self, cmd: RecordCallStatus, *, fresh: bool = False) -> CommandResult:
        """Apply the observation or record why not; never raises for provider disorder."""
        observed = parse_status(cmd.status)
        if fresh and observed == CallStatus.QUEUED:
            reason: IgnoreReason | None = None
        else:
            reason = judge_observation(
                self.status,
                self.last_sequence_number,
                self.last_event_time,
                observed,
                cmd.sequence_number,
                cmd.provider_event_time,
            )
        common = {
            "project_id": self.project_id,
            "call_sid": self.call_sid,
            "operation_id": cmd.operation_id,
            "trace_id": cmd.trace_id,
            "status": cmd.status,
            "provider_event_time": cmd.provider_event_time,
            "sequence_number": cmd.sequence_number,
            "source": str(cmd.source),
        }
        if reason is not None:
            self.trigger_event(self.ObservationIgnored, reason=str(reason), **common)
            return CommandResult(
                operation_id=cmd.operation_id,
                outcome=Outcome.IGNORED,
                reason=str(reason),
                aggregate_id=str(self.id),
            )
        self.trigger_event(
            self.StatusObserved,
            duration_seconds=cmd.duration_seconds,
            sip_response_code=cmd.sip_response_code,
            **common,
        )
        return CommandResult(
            operation_id=cmd.operation_id, outcome=Outcome.APPLIED, aggregate_id=str(self.id)
        )


def record_call_status(call: Call | None, cmd: RecordCallStatus) -> tuple[Call, CommandResult]:
    """The command handler: open the stream on first sight, then record the observation."""
    fresh = call is None
    target = Call.open(cmd) if call is None else call
    return target, target.record_status(cmd, fresh=fresh)
