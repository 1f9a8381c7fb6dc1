"""ConversationsViewProjection: calls and messages join their counterpart's conversation."""

from __future__ import annotations

from typing import Any

import pytest

from domain.call import handle_call_command
from domain.call_commands import RecordRecordingStatus
from domain_events import (
    OTHER_PROJECT,
    PROJECT,
    T0,
    call_events,
    completed_campaign,
    message_events,
    outbound_sms,
)
from projections.conversations_view import (
    ConversationRow,
    ConversationsViewProjection,
    ItemRow,
    contact_id,
    conversation_id,
    counterpart,
    normalize_address,
)
from projections.positioned import PositionedEvent

CUSTOMER = "+14155551212"


def project(events: list[Any], first_position: int = 100) -> ItemRow:
    row: ItemRow | None = None
    for position, event in enumerate(events, start=first_position):
        row = ConversationsViewProjection.apply(row, PositionedEvent(position, event))
    assert row is not None
    return row


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("outbound-api", "+2"),
        ("outbound-dial", "+2"),
        ("outbound-reply", "+2"),
        ("inbound", "+1"),
        (None, None),
        ("sideways", None),
    ],
)
def test_the_counterpart_is_the_remote_party_of_the_direction(
    direction: str | None, expected: str | None
) -> None:
    assert counterpart(direction, "+1", "+2") == expected


def test_an_address_loses_its_channel_prefix_and_blanks() -> None:
    assert normalize_address(" whatsapp:+14155551212 ") == CUSTOMER
    assert normalize_address("WhatsApp:+14155551212") == CUSTOMER
    assert normalize_address("client:alice") == "client:alice"
    assert normalize_address("  ") is None
    assert normalize_address(None) is None


def test_an_outbound_call_is_an_item_of_the_callee_conversation() -> None:
    events = call_events("CA1", ["initiated", "ringing", "in-progress", "completed"])

    row = project(events)

    assert (row.project_id, row.kind, row.sid) == (PROJECT, "call", "CA1")
    assert row.address == CUSTOMER
    assert row.conversation_id == conversation_id(PROJECT, CUSTOMER)
    assert (row.channel, row.direction) == ("voice", "outbound-api")
    assert row.status == "completed"
    assert row.is_final is True
    assert row.answered_at is not None
    assert row.ended_at is not None
    assert row.duration_seconds == 42
    assert row.occurred_at == events[0].timestamp
    assert (row.first_position, row.last_position) == (100, 100 + len(events) - 1)
    assert row.version == len(events)


def test_an_inbound_whatsapp_message_joins_the_conversation_of_a_call_to_that_number() -> None:
    _, events = message_events(
        "SM1",
        [("received", {})],
        channel="whatsapp",
        direction="inbound",
        from_address="whatsapp:" + CUSTOMER,
        to_address="whatsapp:+15005550006",
    )
    call = project(call_events("CA1", ["ringing"]))

    message = project(events)

    assert (message.kind, message.channel, message.status) == ("message", "whatsapp", "received")
    assert message.is_final is True
    assert message.conversation_id == call.conversation_id
    assert message.address == call.address == CUSTOMER


def test_the_same_number_in_another_project_is_another_contact() -> None:
    ours = project(call_events("CA1", ["ringing"]))
    theirs = project(call_events("CA1", ["ringing"], project=OTHER_PROJECT))

    assert ours.conversation_id != theirs.conversation_id
    assert contact_id(PROJECT, CUSTOMER) != contact_id(OTHER_PROJECT, CUSTOMER)


def test_an_item_names_its_contact_and_conversation() -> None:
    _, events = message_events("SM2", [("sent", {})], **outbound_sms())
    row = project(events, first_position=7)

    found = ConversationsViewProjection.conversation_of(row)

    assert found is not None
    contact, conversation = found
    assert (contact.contact_id, contact.address) == (contact_id(PROJECT, CUSTOMER), CUSTOMER)
    assert (contact.created_at, contact.first_position) == (row.occurred_at, 7)
    assert conversation.conversation_id == row.conversation_id
    assert conversation.contact_id == contact.contact_id
    assert (conversation.total_calls, conversation.total_messages) == (0, 0)


def test_a_call_first_heard_of_by_its_recording_is_in_no_conversation() -> None:
    recording = RecordRecordingStatus(
        operation_id="op", project_id=PROJECT, call_sid="CA9", recording_sid="RE1", status="x"
    )
    call, _ = handle_call_command(None, recording)
    assert call is not None

    row = project(call.collect_events())

    assert (row.address, row.conversation_id) == (None, None)
    assert ConversationsViewProjection.conversation_of(row) is None


def test_conversation_metadata_is_the_old_viewer_shape() -> None:
    row = ConversationRow(
        project_id=PROJECT,
        conversation_id="c",
        contact_id="k",
        address=CUSTOMER,
        total_calls=3,
        total_messages=2,
        last_activity_at=T0,
    )

    assert row.metadata == {"total_calls": 3, "total_messages": 2, "last_activity_at": T0}


def test_handles_calls_and_messages_but_not_campaigns() -> None:
    _, messages = message_events("SM3", [("sent", {})], **outbound_sms())

    assert all(ConversationsViewProjection.handles(e) for e in call_events("CA1", ["ringing"]))
    assert all(ConversationsViewProjection.handles(e) for e in messages)
    assert not any(ConversationsViewProjection.handles(e) for e in completed_campaign().events)


def test_event_for_an_item_that_was_never_created_is_refused() -> None:
    events = call_events("CA1", ["ringing", "completed"])

    with pytest.raises(LookupError, match="position 12"):
        ConversationsViewProjection.apply(None, PositionedEvent(12, events[1]))
