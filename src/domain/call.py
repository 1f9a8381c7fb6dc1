"""The Call aggregate: one provider call's append-only history and the rules that guard it.

Status moves only forward. Facts (answered, ended, enriched, recordings) are merged no
matter the order they arrive in, so any delivery order with any duplicates ends in the
same state as in-order delivery. Nothing observed is dropped: what is not applied is
recorded as ignored, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from msgspec import Meta

from domain.call_commands import (
    CallCommand,
    EnrichCall,
    FreezeCall,
    RecordCallStatus,
    RecordRecordingStatus,
)
from domain.call_status import (
    FINAL,
    CallStatus,
    IgnoreReason,
    judge_observation,
    parse_status,
    recording_rank,
)
from domain.commands import CommandResult, Outcome

_CALL_NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard.dev/ns/call")
ENRICHABLE = (
    "price",
    "price_unit",
    "billed_duration_seconds",
    "queue_time_ms",
    "duration_seconds",
    "sip_response_code",
    "answered_by",
)
# Who and where: set by the first status callback, which a recording callback may precede
# (it opens the call without them); the first status that carries them fills them in.
PARTIES = ("direction", "from_number", "to_number", "parent_call_sid")


@lru_cache(maxsize=65_536)
def call_id(project_id: str, call_sid: str) -> UUID:
    """Deterministic aggregate id: the same provider call always maps to the same stream."""
    return uuid5(_CALL_NAMESPACE, f"{project_id}/{call_sid}")


def _doc(text: str) -> Meta:
    return Meta(description=text)


class Call(Aggregate):
    """A provider call."""

    class Event(Aggregate.Event):
        """Every call event names its tenant, its call, and the operation that caused it."""

        project_id: Annotated[str, _doc("Tenant that owns the call.")]
        call_sid: Annotated[str, _doc("Provider call SID (CA...).")]
        operation_id: Annotated[str, _doc("Idempotency key of the command that caused it.")]
        trace_id: Annotated[str, _doc("W3C trace id of the originating request.")]

    class Created(Event, Aggregate.Created):
        """The first thing heard about a call opened its stream.

        Version 2 added the campaign links; `upcast_v1_v2` fills them in for v1 events.
        """

        class_version = 2
        direction: Annotated[str | None, _doc("inbound, outbound-api, outbound-dial.")]
        from_number: Annotated[str | None, _doc("Caller, E.164 or client:/sip: (PII).")]
        to_number: Annotated[str | None, _doc("Callee, E.164 or client:/sip: (PII).")]
        parent_call_sid: Annotated[str | None, _doc("Parent leg SID for child legs.")]
        campaign_id: Annotated[str | None, _doc("Campaign this call dials for, if any.")]
        attempt_id: Annotated[str | None, _doc("Campaign attempt this call is, if any.")]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["campaign_id"] = None
            state["attempt_id"] = None

    class StatusObserved(Event):
        """The provider's status was applied: the call moved forward."""

        status: Annotated[str, _doc("Provider status now in force.")]
        provider_event_time: Annotated[datetime | None, _doc("When the provider fired it.")]
        sequence_number: Annotated[int | None, _doc("Provider SequenceNumber.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]

        def apply(self, aggregate: Any) -> None:
            call: Call = aggregate
            call.status = CallStatus(self.status)
            if self.sequence_number is not None:
                call.last_sequence_number = max(
                    call.last_sequence_number or 0, self.sequence_number
                )
            if self.provider_event_time is not None and (
                call.last_event_time is None or self.provider_event_time > call.last_event_time
            ):
                call.last_event_time = self.provider_event_time

    class Answered(Event):
        """The call was answered; recorded once, even when its callback arrives late."""

        answered_at: Annotated[datetime, _doc("When the call was answered (provider time).")]
        answered_by: Annotated[str | None, _doc("AMD verdict: human, machine_start, ...")]

        def apply(self, aggregate: Any) -> None:
            aggregate.answered_at = self.answered_at
            aggregate.answered_by = self.answered_by or aggregate.answered_by

    class Ended(Event):
        """The call reached a final status, with what the ending reported."""

        status: Annotated[str, _doc("The final status.")]
        ended_at: Annotated[datetime, _doc("When the call ended (provider time).")]
        duration_seconds: Annotated[int | None, _doc("CallDuration, seconds.")]
        sip_response_code: Annotated[int | None, _doc("Final SIP response code.")]

        def apply(self, aggregate: Any) -> None:
            aggregate.finalized_at = self.ended_at
            aggregate.duration_seconds = self.duration_seconds
            aggregate.sip_response_code = self.sip_response_code

    class Enriched(Event):
        """Late facts, accepted even on a final call: only the fields that changed."""

        source: Annotated[str, _doc("Usually reconcile.")]
        price: Annotated[str | None, _doc("Price as a decimal string (negative = charge).")]
        price_unit: Annotated[str | None, _doc("ISO 4217 currency, e.g. USD.")]
        billed_duration_seconds: Annotated[int | None, _doc("Billed duration, seconds.")]
        queue_time_ms: Annotated[int | None, _doc("Time queued before dialing, ms.")]
        duration_seconds: Annotated[int | None, _doc("CallDuration, seconds.")]
        sip_response_code: Annotated[int | None, _doc("Final SIP response code.")]
        answered_by: Annotated[str | None, _doc("AMD verdict.")]
        direction: Annotated[str | None, _doc("Parties not known when the call opened.")] = None
        from_number: Annotated[str | None, _doc("Caller, if not known before.")] = None
        to_number: Annotated[str | None, _doc("Callee, if not known before.")] = None
        parent_call_sid: Annotated[str | None, _doc("Parent leg, if not known before.")] = None

        def apply(self, aggregate: Any) -> None:
            for name in (*ENRICHABLE, *PARTIES):
                value = getattr(self, name)
                if value is not None:
                    setattr(aggregate, name, value)

    class RecordingUpdated(Event):
        """A recording of the call moved forward (in-progress, completed, absent...)."""

        recording_sid: Annotated[str, _doc("Provider recording SID (RE...).")]
        status: Annotated[str, _doc("in-progress, completed, absent, ...")]
        url: Annotated[str | None, _doc("Where the audio is.")]
        duration_seconds: Annotated[int | None, _doc("Recording length, seconds.")]
        channels: Annotated[int | None, _doc("1 or 2.")]
        provider_event_time: Annotated[datetime | None, _doc("When the provider fired it.")]

        def apply(self, aggregate: Any) -> None:
            aggregate.recordings[self.recording_sid] = self.status

    class ObservationIgnored(Event):
        """An observation that was not applied, kept with the reason: nothing is dropped."""

        kind: Annotated[str, _doc("status, recording or enrichment.")]
        status: Annotated[str | None, _doc("Status the observation claimed.")]
        provider_event_time: Annotated[datetime | None, _doc("Provider event time.")]
        sequence_number: Annotated[int | None, _doc("Provider SequenceNumber.")]
        source: Annotated[str, _doc("webhook, reconcile, api or manual_sync.")]
        reason: Annotated[str, _doc("stale, duplicate, after_final, after_freeze, ...")]

        def apply(self, aggregate: Any) -> None:
            """History only: an ignored observation never changes state."""

    class Frozen(Event):
        """The call is settled: reconcile stops polling it and changes are ignored."""

        frozen_at: Annotated[datetime, _doc("From now on the call no longer changes.")]

        def apply(self, aggregate: Any) -> None:
            aggregate.frozen_at = self.frozen_at

    @event(Created)
    def __init__(
        self,
        *,
        project_id: str,
        call_sid: str,
        operation_id: str,
        trace_id: str,
        direction: str | None,
        from_number: str | None,
        to_number: str | None,
        parent_call_sid: str | None,
        campaign_id: str | None,
        attempt_id: str | None,
    ) -> None:
        self.project_id = project_id
        self.call_sid = call_sid
        self.direction = direction
        self.from_number = from_number
        self.to_number = to_number
        self.parent_call_sid = parent_call_sid
        self.campaign_id = campaign_id
        self.attempt_id = attempt_id
        self.status = CallStatus.QUEUED
        self.last_sequence_number: int | None = None
        self.last_event_time: datetime | None = None
        self.answered_at: datetime | None = None
        self.answered_by: str | None = None
        self.finalized_at: datetime | None = None
        self.duration_seconds: int | None = None
        self.sip_response_code: int | None = None
        self.price: str | None = None
        self.price_unit: str | None = None
        self.billed_duration_seconds: int | None = None
        self.queue_time_ms: int | None = None
        self.recordings: dict[str, str] = {}
        self.frozen_at: datetime | None = None

    @staticmethod
    def create_id(project_id: str, call_sid: str, **_: Any) -> UUID:
        return call_id(project_id, call_sid)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @classmethod
    def open(cls, cmd: CallCommand) -> Call:
        """Start a call's stream from the first thing we hear about it."""
        status = cmd if isinstance(cmd, RecordCallStatus) else None
        return cls(
            project_id=cmd.project_id,
            call_sid=cmd.call_sid,
            operation_id=cmd.operation_id,
            trace_id=cmd.trace_id,
            direction=status.direction if status else None,
            from_number=status.from_number if status else None,
            to_number=status.to_number if status else None,
            parent_call_sid=status.parent_call_sid if status else None,
            campaign_id=status.campaign_id if status else None,
            attempt_id=status.attempt_id if status else None,
        )

    def _emit(self, cls: type[Event], cmd: CallCommand, **fields: Any) -> None:
        self.trigger_event(
            cls,
            project_id=self.project_id,
            call_sid=self.call_sid,
            operation_id=cmd.operation_id,
            trace_id=cmd.trace_id,
            **fields,
        )

    def _result(self, cmd: CallCommand, reason: str | None = None) -> CommandResult:
        return CommandResult(
            operation_id=cmd.operation_id,
            outcome=Outcome.IGNORED if reason else Outcome.APPLIED,
            reason=reason,
            aggregate_id=str(self.id),
        )

    def _ignore(self, cmd: CallCommand, kind: str, reason: str, **fields: Any) -> CommandResult:
        fields = {"status": None, "provider_event_time": None, "sequence_number": None} | fields
        self._emit(
            self.ObservationIgnored, cmd, kind=kind, reason=reason, source=str(cmd.source), **fields
        )
        return self._result(cmd, reason)

    def record_status(self, cmd: RecordCallStatus, *, fresh: bool = False) -> CommandResult:
        """Apply the status or record why not; keep any fact it carries either way."""
        observation = {
            "status": cmd.status,
            "provider_event_time": cmd.provider_event_time,
            "sequence_number": cmd.sequence_number,
        }
        if self.frozen_at is not None:
            return self._ignore(cmd, "status", IgnoreReason.AFTER_FREEZE, **observation)
        observed = parse_status(cmd.status)
        reason = (
            None
            if fresh and observed is CallStatus.QUEUED
            else judge_observation(
                self.status,
                self.last_sequence_number,
                self.last_event_time,
                observed,
                cmd.sequence_number,
                cmd.provider_event_time,
            )
        )
        when = cmd.provider_event_time or datetime.now(UTC)
        if reason is None:
            self._emit(self.StatusObserved, cmd, source=str(cmd.source), **observation)
            result = self._result(cmd)
        else:
            result = self._ignore(cmd, "status", reason, **observation)
        if reason in (None, IgnoreReason.STALE, IgnoreReason.DUPLICATE):
            self._merge_facts(cmd, observed, reason, when)
        return result

    def _merge_facts(
        self,
        cmd: RecordCallStatus,
        observed: CallStatus | None,
        reason: str | None,
        when: datetime,
    ) -> None:
        if observed is CallStatus.IN_PROGRESS and self.answered_at is None:
            self._emit(self.Answered, cmd, answered_at=when, answered_by=cmd.answered_by)
        if observed in FINAL and reason is None:
            self._emit(
                self.Ended,
                cmd,
                status=cmd.status,
                ended_at=when,
                duration_seconds=cmd.duration_seconds,
                sip_response_code=cmd.sip_response_code,
            )
        late: dict[str, Any] = {"answered_by": cmd.answered_by if self.answered_at else None}
        late |= {name: getattr(cmd, name) for name in PARTIES if getattr(self, name) is None}
        if observed in FINAL and reason == IgnoreReason.DUPLICATE:
            late |= {
                "duration_seconds": cmd.duration_seconds,
                "sip_response_code": cmd.sip_response_code,
            }
        self._enrich(cmd, late)

    def _enrich(self, cmd: CallCommand, facts: dict[str, Any]) -> bool:
        changed = {k: v for k, v in facts.items() if v is not None and getattr(self, k) != v}
        if changed:
            self._emit(
                self.Enriched,
                cmd,
                source=str(cmd.source),
                **{name: changed.get(name) for name in (*ENRICHABLE, *PARTIES)},
            )
        return bool(changed)

    def enrich(self, cmd: EnrichCall) -> CommandResult:
        if self.frozen_at is not None:
            return self._ignore(cmd, "enrichment", IgnoreReason.AFTER_FREEZE)
        facts = {name: getattr(cmd, name) for name in ENRICHABLE}
        return (
            self._result(cmd)
            if self._enrich(cmd, facts)
            else self._result(cmd, IgnoreReason.DUPLICATE)
        )

    def record_recording(self, cmd: RecordRecordingStatus) -> CommandResult:
        observation = {"status": cmd.status, "provider_event_time": cmd.provider_event_time}
        if self.frozen_at is not None:
            return self._ignore(cmd, "recording", IgnoreReason.AFTER_FREEZE, **observation)
        known = self.recordings.get(cmd.recording_sid)
        if known is not None and recording_rank(cmd.status) <= recording_rank(known):
            reason = IgnoreReason.DUPLICATE if known == cmd.status else IgnoreReason.STALE
            return self._ignore(cmd, "recording", reason, **observation)
        self._emit(
            self.RecordingUpdated,
            cmd,
            recording_sid=cmd.recording_sid,
            status=cmd.status,
            url=cmd.url,
            duration_seconds=cmd.duration_seconds,
            channels=cmd.channels,
            provider_event_time=cmd.provider_event_time,
        )
        return self._result(cmd)

    def freeze(self, cmd: FreezeCall) -> CommandResult:
        """Frozen calls are no longer polled by reconcile and accept no change."""
        if self.frozen_at is not None:
            return self._result(cmd, IgnoreReason.DUPLICATE)
        if self.finalized_at is None:
            return self._result(cmd, "not_final")
        if cmd.now < self.finalized_at + timedelta(seconds=cmd.cooldown_seconds):
            return self._result(cmd, "cooling_down")
        self._emit(self.Frozen, cmd, frozen_at=cmd.now)
        return self._result(cmd)


_HANDLERS: dict[type[CallCommand], Callable[[Call, Any], CommandResult]] = {
    EnrichCall: Call.enrich,
    RecordRecordingStatus: Call.record_recording,
    FreezeCall: Call.freeze,
}


def handle_call_command(call: Call | None, cmd: CallCommand) -> tuple[Call | None, CommandResult]:
    """The command handler. Status and recording observations open a call's stream on
    first sight; enrichment and freezing need a call we already know."""
    fresh = call is None
    if call is None and isinstance(cmd, EnrichCall | FreezeCall):
        return None, CommandResult(
            operation_id=cmd.operation_id, outcome=Outcome.IGNORED, reason="unknown_call"
        )
    target = Call.open(cmd) if call is None else call
    if isinstance(cmd, RecordCallStatus):
        return target, target.record_status(cmd, fresh=fresh)
    return target, _HANDLERS[type(cmd)](target, cmd)


def replay(
    events: Iterable[Any], *, as_of: datetime | None = None, version: int | None = None
) -> Call | None:
    """The call as it stood after `version`, or as recorded by time `as_of` (inclusive);
    None when it did not exist yet. Events must be in version order."""
    call: Call | None = None
    for e in events:
        if (version is not None and e.originator_version > version) or (
            as_of is not None and e.timestamp > as_of
        ):
            break
        call = e.mutate(call)
    return call


def record_call_status(call: Call | None, cmd: RecordCallStatus) -> tuple[Call, CommandResult]:
    """Status observations always yield a call (opened on first sight)."""
    fresh = call is None
    target = Call.open(cmd) if call is None else call
    return target, target.record_status(cmd, fresh=fresh)
