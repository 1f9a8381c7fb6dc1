"""Reconcile: compare what the provider's REST API says about a call with the Call
aggregate, and name the next command that closes the gap.

Each repair is an ordinary call command whose operation_id is derived from the provider's
facts, so reconciling the same facts twice is a no-op, and reconcile never needs a
separate write path. Drift kinds: `status` (status and the facts status callbacks carry:
duration, AMD verdict; also a call we never heard of), `recording`; `enrichment` (price)
is expected, since callbacks never carry it, and is not drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from domain.call import Call
from domain.call_commands import CallCommand, EnrichCall, RecordCallStatus, RecordRecordingStatus
from domain.call_status import FINAL, RANK, parse_status, recording_rank
from domain.commands import Source

STATUS, RECORDING, ENRICHMENT = "status", "recording", "enrichment"
DRIFT_KINDS = (STATUS, RECORDING)


class ProviderRecording(msgspec.Struct, frozen=True, kw_only=True):
    recording_sid: str
    status: str
    url: str | None = None
    duration_seconds: int | None = None
    channels: int | None = None
    started_at: datetime | None = None


class ProviderCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call as the provider's REST API reports it."""

    call_sid: str
    status: str
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    parent_call_sid: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_seconds: int | None = None
    price: str | None = None
    price_unit: str | None = None
    answered_by: str | None = None
    recordings: tuple[ProviderRecording, ...] = ()


class Repair(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    command: CallCommand


def next_repair(
    call: Call | None,
    provider: ProviderCall,
    *,
    project_id: str,
    source: Source = Source.RECONCILE,
    trace_id: str = "",
    skip: frozenset[str] = frozenset(),
) -> Repair | None:
    """The first command that brings `call` closer to `provider`, or None when they agree
    (or the call is frozen). `skip`: operation ids already tried in this pass."""
    if call is not None and call.frozen_at is not None:
        return None
    common: dict[str, Any] = {
        "project_id": project_id,
        "call_sid": provider.call_sid,
        "source": source,
        "trace_id": trace_id,
    }
    for repair in _candidates(call, provider, common):
        if repair.command.operation_id not in skip:
            return repair
    return None


def _candidates(call: Call | None, p: ProviderCall, common: dict[str, Any]) -> list[Repair]:
    out: list[Repair] = []
    observed = parse_status(p.status)
    if observed is not None and (
        call is None
        or (
            call.status not in FINAL
            and observed != call.status
            and (observed in FINAL or RANK[observed] > RANK[call.status])
        )
    ):
        final = observed in FINAL
        cmd: CallCommand = RecordCallStatus(
            operation_id=f"reconcile:{p.call_sid}:status:{observed}",
            status=str(observed),
            provider_event_time=p.end_time if final else p.start_time,
            direction=p.direction,
            from_number=p.from_number,
            to_number=p.to_number,
            parent_call_sid=p.parent_call_sid,
            duration_seconds=p.duration_seconds if final else None,
            answered_by=p.answered_by,
            **common,
        )
        out.append(Repair(kind=STATUS, command=cmd))
        return out  # the facts below are judged against the call after this repair
    if call is None:
        return out
    facts: dict[str, Any] = {}
    if call.is_final and p.duration_seconds is not None:
        facts["duration_seconds"] = p.duration_seconds
    if p.answered_by:
        facts["answered_by"] = p.answered_by
    changed = {k: v for k, v in facts.items() if getattr(call, k) != v}
    if changed:
        key = ":".join(f"{k}={v}" for k, v in sorted(changed.items()))
        cmd = EnrichCall(operation_id=f"reconcile:{p.call_sid}:facts:{key}", **changed, **common)
        out.append(Repair(kind=STATUS, command=cmd))
    if p.price is not None and (call.price, call.price_unit) != (p.price, p.price_unit):
        cmd = EnrichCall(
            operation_id=f"reconcile:{p.call_sid}:price:{p.price}:{p.price_unit}",
            price=p.price,
            price_unit=p.price_unit,
            **common,
        )
        out.append(Repair(kind=ENRICHMENT, command=cmd))
    for rec in p.recordings:
        known = call.recordings.get(rec.recording_sid)
        if known is None or recording_rank(rec.status) > recording_rank(known):
            cmd = RecordRecordingStatus(
                operation_id=f"reconcile:{p.call_sid}:recording:{rec.recording_sid}:{rec.status}",
                recording_sid=rec.recording_sid,
                status=rec.status,
                url=rec.url,
                duration_seconds=rec.duration_seconds,
                channels=rec.channels,
                provider_event_time=rec.started_at,
                **common,
            )
            out.append(Repair(kind=RECORDING, command=cmd))
    return out
