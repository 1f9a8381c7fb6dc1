"""The Message aggregate: given earlier callbacks, when one more arrives, then these events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest

from domain.commands import CommandResult, Outcome, Source
from domain.message import Message, RecordMessageStatus, message_id, record_message_status
from domain.message_status import Channel, MessageStatus

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
OTHER_PROJECT = "0e2a7c55-3b8d-4f61-a1c4-9d2e8b7f6a30"
SID = "SM" + "b" * 32
TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 2, 12, 11, 48, 0, tzinfo=UTC)
M = Message
S = MessageStatus
_operation_ids = itertools.count()


def observe(
    status: str, *, at: datetime | None = None, project: str = PROJECT, **fields: Any
) -> RecordMessageStatus:
    return RecordMessageStatus(
        operation_id=f"op-{next(_operation_ids)}",
        project_id=project,
        message_sid=SID,
        status=status,
        provider_event_time=at,
        trace_id=TRACE,
        **fields,
    )


def given(*commands: RecordMessageStatus) -> Message:
    message: Message | None = None
    for command in commands:
        message, _ = record_message_status(message, command)
    assert message is not None
    message.collect_events()
    return message


def when(
    message: Message | None, command: RecordMessageStatus
) -> tuple[Message, CommandResult, list[Any]]:
    message, result = record_message_status(message, command)
    return message, result, list(message.collect_events())


def kinds(events: list[Any]) -> list[type[Any]]:
    return [type(e) for e in events]


# Opening the stream


def test_first_callback_opens_the_message_and_applies_its_status() -> None:
    command = observe(
        "sent",
        channel="sms",
        direction="outbound-api",
        from_address="+15005550006",
        to_address="+14155551212",
        messaging_service_sid="MG" + "a" * 32,
        template_id="tpl-7",
        contact_id="contact-42",
        campaign_id="campaign-3",
        body_chars=137,
        segments=1,
    )

    message, result, events = when(None, command)

    assert kinds(events) == [M.Created, M.StatusObserved]
    created, observed = events
    assert (created.channel, created.direction) == ("sms", "outbound-api")
    assert (created.from_address, created.to_address) == ("+15005550006", "+14155551212")
    assert (created.template_id, created.contact_id, created.campaign_id) == (
        "tpl-7",
        "contact-42",
        "campaign-3",
    )
    assert (created.body_chars, created.segments) == (137, 1)
    assert observed.status == "sent"
    assert message.id == message_id(PROJECT, SID)
    assert message.status is S.SENT
    assert message.channel is Channel.SMS
    assert result == CommandResult(
        operation_id=command.operation_id, outcome=Outcome.APPLIED, aggregate_id=str(message.id)
    )


def test_first_callback_with_unknown_status_opens_the_message_without_a_status() -> None:
    message, result, events = when(None, observe("partially_delivered"))

    assert kinds(events) == [M.Created, M.ObservationIgnored]
    assert events[1].reason == result.reason == "unknown_status"
    assert message.status is None
    assert not message.is_final


def test_a_status_after_an_unknown_first_one_applies_wherever_it_is() -> None:
    message = given(observe("partially_delivered"))

    message, result, _ = when(message, observe("delivered"))

    assert result.outcome is Outcome.APPLIED
    assert message.status is S.DELIVERED


def test_every_event_names_its_project_message_operation_and_trace() -> None:
    command = observe("failed", error_code=30008)

    _, _, events = when(None, command)

    assert kinds(events) == [M.Created, M.StatusObserved, M.ErrorRecorded]
    for e in events:
        assert (e.project_id, e.message_sid) == (PROJECT, SID)
        assert (e.operation_id, e.trace_id) == (command.operation_id, TRACE)


def test_body_text_has_no_way_into_the_log() -> None:
    command_fields = set(RecordMessageStatus.__struct_fields__)
    event_fields = {
        f
        for cls in vars(Message).values()
        if isinstance(cls, type)
        for f in getattr(cls, "__annotations__", {})
    }

    assert not {"body", "text", "content"} & (command_fields | event_fields)
    assert "body_chars" in command_fields


def test_unknown_channel_is_kept_in_history_but_not_in_state() -> None:
    message, _, events = when(None, observe("sent", channel="rcs"))

    assert events[0].channel == "rcs"
    assert message.channel is None


def test_message_id_is_stable_so_existing_streams_stay_reachable() -> None:
    assert message_id(PROJECT, SID) == UUID("8ab6b94f-5e49-5666-b1b8-612ba7baa8cd")


def test_same_message_sid_in_two_projects_is_two_messages() -> None:
    first, _, _ = when(None, observe("sent"))
    second, _, _ = when(None, observe("sent", project=OTHER_PROJECT))

    assert first.id == message_id(PROJECT, SID)
    assert second.id == message_id(OTHER_PROJECT, SID) != first.id


# Moving forward, and never back


def test_in_order_sms_lifecycle_applies_each_status_and_ends_delivered() -> None:
    message = None
    for status in ["queued", "sending", "sent"]:
        message, result, _ = when(message, observe(status))
        assert result.outcome is Outcome.APPLIED
    done = T0 + timedelta(minutes=1)

    message, result, events = when(message, observe("delivered", at=done))

    assert kinds(events) == [M.StatusObserved]
    assert message.status is S.DELIVERED
    assert message.is_final
    assert message.facts.delivered_at == done
    assert message.version == 5


def test_late_sent_after_delivered_is_ignored_as_stale() -> None:
    message = given(observe("sent"), observe("delivered", at=T0))

    message, result, events = when(message, observe("sent"))

    assert kinds(events) == [M.ObservationIgnored]
    assert events[0].reason == result.reason == "stale"
    assert result.outcome is Outcome.IGNORED
    assert message.status is S.DELIVERED


def test_late_sent_with_a_provider_time_is_stale_but_its_time_is_kept() -> None:
    message = given(observe("delivered"))

    message, result, events = when(message, observe("sent", at=T0))

    assert kinds(events) == [M.ObservationIgnored, M.Reached]
    assert result.reason == "stale"
    assert (events[1].status, events[1].provider_event_time) == ("sent", T0)
    assert message.status is S.DELIVERED
    assert message.facts.sent_at == T0


def test_intermediate_steps_may_be_skipped_because_callbacks_are_lossy() -> None:
    message = given(observe("queued"))

    message, result, _ = when(message, observe("read"))

    assert result.outcome is Outcome.APPLIED
    assert message.status is S.READ


def test_read_may_follow_delivered() -> None:
    message = given(observe("delivered", at=T0))

    message, result, events = when(message, observe("read"))

    assert kinds(events) == [M.StatusObserved]
    assert result.outcome is Outcome.APPLIED
    assert message.status is S.READ


def test_delivered_after_read_is_stale_but_its_done_date_is_kept() -> None:
    message = given(observe("read"))

    message, result, events = when(message, observe("delivered", at=T0))

    assert kinds(events) == [M.ObservationIgnored, M.Reached]
    assert result.reason == "stale"
    assert message.status is S.READ
    assert message.facts.delivered_at == T0


def test_same_status_again_with_nothing_new_is_a_duplicate() -> None:
    message = given(observe("delivered", at=T0))

    message, result, events = when(message, observe("delivered", at=T0 + timedelta(minutes=5)))

    assert kinds(events) == [M.ObservationIgnored]
    assert result.reason == "duplicate"
    assert message.facts.delivered_at == T0


def test_same_status_with_an_earlier_provider_time_keeps_the_earlier_time() -> None:
    message = given(observe("delivered", at=T0 + timedelta(minutes=5)))

    message, result, events = when(message, observe("delivered", at=T0))

    assert kinds(events) == [M.ObservationIgnored, M.Reached]
    assert result.reason == "duplicate"
    assert message.facts.delivered_at == T0


@pytest.mark.parametrize("before", ["accepted", "scheduled", "queued"])
def test_a_message_can_be_canceled_before_dispatch(before: str) -> None:
    message = given(observe(before))

    message, result, _ = when(message, observe("canceled"))

    assert result.outcome is Outcome.APPLIED
    assert message.status is S.CANCELED
    assert message.is_final


@pytest.mark.parametrize("after", ["sending", "sent"])
def test_canceled_after_dispatch_is_an_impossible_transition(after: str) -> None:
    message = given(observe(after))

    message, result, events = when(message, observe("canceled"))

    assert events[0].reason == result.reason == "impossible_transition"
    assert message.status is MessageStatus(after)
    assert message.facts.reached >= {S.CANCELED}  # kept as a claim, for whoever investigates


def test_late_queued_after_canceled_is_stale() -> None:
    message = given(observe("scheduled"), observe("canceled"))

    _, result, _ = when(message, observe("queued"))

    assert result.reason == "stale"


def test_sent_after_canceled_is_ignored_as_after_final() -> None:
    message = given(observe("canceled"))

    message, result, _ = when(message, observe("sent"))

    assert result.reason == "after_final"
    assert message.status is S.CANCELED


def test_failed_may_follow_sent() -> None:
    message = given(observe("sent"))

    message, result, _ = when(message, observe("failed", error_code=63016))

    assert result.outcome is Outcome.APPLIED
    assert message.status is S.FAILED


def test_delivered_and_undelivered_exclude_each_other() -> None:
    message = given(observe("delivered"))

    message, result, _ = when(message, observe("undelivered", error_code=30003))

    assert result.reason == "after_final"
    assert message.status is S.DELIVERED


def test_nothing_moves_a_failed_message() -> None:
    message = given(observe("failed", error_code=30008))

    for status in ["delivered", "read", "canceled"]:
        message, result, _ = when(message, observe(status))
        assert result.reason == "after_final"
    assert message.status is S.FAILED


# Errors


@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_a_failure_records_its_error_and_ends_final(status: str) -> None:
    message = given(observe("sent"))

    message, _, events = when(
        message, observe(status, error_code=30003, error_message="Unreachable")
    )

    assert kinds(events) == [M.StatusObserved, M.ErrorRecorded]
    observed, error = events
    assert (observed.error_code, observed.error_message) == (30003, "Unreachable")
    assert (error.error_code, error.error_message, error.status) == (30003, "Unreachable", status)
    assert (message.facts.error_code, message.facts.error_message) == (30003, "Unreachable")
    assert message.is_final


def test_an_error_on_an_observation_that_cannot_apply_is_still_recorded() -> None:
    message = given(observe("read"))

    message, result, events = when(message, observe("failed", error_code=63016))

    assert kinds(events) == [M.ObservationIgnored, M.Reached, M.ErrorRecorded]
    assert result.reason == "after_final"
    assert message.status is S.READ
    assert message.facts.error_code == 63016


def test_a_known_error_reported_again_records_nothing_new() -> None:
    message = given(observe("undelivered", error_code=30003))

    _, result, events = when(message, observe("undelivered", error_code=30003))

    assert kinds(events) == [M.ObservationIgnored]
    assert result.reason == "duplicate"


def test_an_error_description_arriving_later_is_recorded() -> None:
    message = given(observe("undelivered", error_code=30003))

    message, _, events = when(message, observe("undelivered", error_code=30003, error_message="x"))

    assert kinds(events) == [M.ObservationIgnored, M.ErrorRecorded]
    assert message.facts.error_message == "x"


@pytest.mark.parametrize("first", ["failed", "undelivered"])
def test_the_outcome_error_is_the_one_reported_with_the_furthest_status(first: str) -> None:
    codes = {"failed": 30008, "undelivered": 30003}
    other = "undelivered" if first == "failed" else "failed"
    message = given(observe(first, error_code=codes[first]))

    message, _, _ = when(message, observe(other, error_code=codes[other]))

    assert set(message.facts.errors) == {30003, 30008}
    assert message.facts.error_code == 30003  # undelivered ranks above failed, in any order


def test_unknown_status_is_kept_as_history_and_its_error_as_a_fact() -> None:
    message = given(observe("sent"))

    message, result, events = when(message, observe("partially_delivered", error_code=30003))

    assert kinds(events) == [M.ObservationIgnored, M.ErrorRecorded]
    assert result.reason == "unknown_status"
    assert message.status is S.SENT
    assert message.facts.error_code == 30003


def test_a_read_receipt_after_undelivered_is_kept_as_a_fact_without_changing_status() -> None:
    message = given(observe("undelivered", error_code=30003))

    message, result, events = when(message, observe("read", channel="whatsapp"))

    assert kinds(events) == [M.ObservationIgnored, M.Reached]
    assert result.reason == "after_final"
    assert message.status is S.UNDELIVERED
    assert S.READ in message.facts.reached


# Inbound


def test_inbound_message_moves_from_receiving_to_received() -> None:
    message = given(observe("receiving", direction="inbound"))

    message, result, _ = when(message, observe("received"))

    assert result.outcome is Outcome.APPLIED
    assert message.status is S.RECEIVED
    assert message.is_final


def test_outbound_statuses_never_apply_to_an_inbound_message() -> None:
    message = given(observe("receiving"))

    message, result, _ = when(message, observe("sent"))
    assert result.reason == "impossible_transition"
    message, result, _ = when(given(observe("received")), observe("delivered"))
    assert result.reason == "after_final"


# Finality


def test_final_status_marks_the_message_final_at_the_provider_time() -> None:
    message = given(observe("sent"))
    assert not message.is_final
    assert message.finalized_at is None

    message, _, _ = when(message, observe("undelivered", at=T0, error_code=30005))

    assert message.is_final
    assert message.finalized_at == T0


def test_finalized_at_falls_back_to_the_recording_time_without_provider_time() -> None:
    message, _, events = when(given(observe("sent")), observe("failed", error_code=30008))

    assert message.finalized_at == events[0].timestamp


def test_a_late_done_date_moves_finalized_at_to_the_provider_time() -> None:
    message = given(observe("read"))
    assert message.finalized_at is not None

    message, _, _ = when(message, observe("delivered", at=T0))

    assert message.finalized_at == T0


def test_a_conflicting_final_claim_does_not_move_finalized_at() -> None:
    message = given(observe("delivered", at=T0))

    message, _, _ = when(message, observe("failed", at=T0 - timedelta(hours=1)))

    assert message.status is S.DELIVERED
    assert message.finalized_at == T0
    assert message.facts.times[S.FAILED] == T0 - timedelta(hours=1)  # kept, as a claim


def test_a_provider_time_without_a_zone_is_read_as_utc() -> None:
    naive = datetime(2026, 2, 12, 11, 49)  # RawDlrDoneDate 2602121149 carries no zone

    message, _, events = when(None, observe("delivered", at=naive))

    assert events[1].provider_event_time == T0.replace(minute=49, second=0)
    assert message.facts.delivered_at == T0.replace(minute=49, second=0)


def test_source_of_the_observation_is_recorded() -> None:
    _, _, events = when(None, observe("sent", source=Source.RECONCILE))

    assert events[1].source == "reconcile"


def test_the_result_reports_the_status_verdict_even_when_a_fact_was_recorded() -> None:
    message = given(observe("read"))

    _, result, events = when(message, observe("delivered", at=T0))

    assert M.Reached in kinds(events)
    assert (result.outcome, result.reason) == (Outcome.IGNORED, "stale")


def test_commands_survive_the_wire_as_json() -> None:
    command = observe("delivered", at=T0, error_code=None, channel="sms")

    decoded = msgspec.json.decode(msgspec.json.encode(command), type=RecordMessageStatus)

    assert decoded == command
