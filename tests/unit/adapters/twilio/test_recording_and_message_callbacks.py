"""Recording and messaging callbacks: required fields, natural dedupe keys, commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.twilio.callbacks import MalformedCallback
from adapters.twilio.kinds import KINDS
from adapters.twilio.message_callbacks import channel_of, message_status_command
from adapters.twilio.recording_callbacks import recording_status_command
from domain.call_commands import RecordRecordingStatus
from domain.message_commands import RecordMessageStatus

ACCOUNT = "AC" + "a" * 32
RECORDING = {
    "AccountSid": ACCOUNT,
    "CallSid": "CA" + "b" * 32,
    "RecordingSid": "RE" + "c" * 32,
    "RecordingStatus": "completed",
    "RecordingUrl": "https://api.twilio.com/rec",
    "RecordingDuration": "37",
    "RecordingChannels": "2",
    "RecordingStartTime": "Sat, 21 Nov 2026 12:00:05 +0000",
}
MESSAGE = {
    "AccountSid": ACCOUNT,
    "MessageSid": "SM" + "d" * 32,
    "MessageStatus": "undelivered",
    "ErrorCode": "30003",
    "From": "whatsapp:+14155550100",
    "To": "whatsapp:+16505550199",
    "MessagingServiceSid": "MG" + "e" * 32,
}
ARGS: dict[str, Any] = {"operation_id": "webhook:k", "project_id": "p", "trace_id": "t"}


def test_recording_command_carries_the_callback_fields() -> None:
    cmd = recording_status_command(RECORDING, **ARGS)
    assert cmd == RecordRecordingStatus(
        **ARGS,
        call_sid="CA" + "b" * 32,
        recording_sid="RE" + "c" * 32,
        status="completed",
        url="https://api.twilio.com/rec",
        duration_seconds=37,
        channels=2,
        provider_event_time=datetime(2026, 11, 21, 12, 0, 5, tzinfo=UTC),
    )


def test_message_command_carries_status_error_channel_and_addresses() -> None:
    cmd = message_status_command(MESSAGE, **ARGS)
    assert isinstance(cmd, RecordMessageStatus)
    assert (cmd.status, cmd.error_code, cmd.channel) == ("undelivered", 30003, "whatsapp")
    assert (cmd.from_address, cmd.to_address) == (MESSAGE["From"], MESSAGE["To"])
    assert cmd.messaging_service_sid == MESSAGE["MessagingServiceSid"]


@pytest.mark.parametrize(
    ("fields", "channel"),
    [
        ({"To": "+16505550199"}, "sms"),
        ({"To": "whatsapp:+16505550199"}, "whatsapp"),
        ({"From": "messenger:123"}, "messenger"),
        ({"To": "+1650", "ChannelPrefix": "RCS"}, "rcs"),
    ],
)
def test_channel_comes_from_the_address_prefix(fields: dict[str, str], channel: str) -> None:
    assert channel_of(fields) == channel


@pytest.mark.parametrize(
    ("kind", "fields", "drop"),
    [
        ("recording-status", RECORDING, "RecordingSid"),
        ("recording-status", RECORDING, "RecordingStatus"),
        ("recording-status", RECORDING, "CallSid"),
        ("messaging-status", MESSAGE, "MessageSid"),
        ("messaging-status", MESSAGE, "MessageStatus"),
    ],
)
def test_callbacks_without_a_key_field_are_malformed(
    kind: str, fields: dict[str, str], drop: str
) -> None:
    with pytest.raises(MalformedCallback) as caught:
        KINDS[kind].check({k: v for k, v in fields.items() if k != drop})
    assert caught.value.problems == [f"{drop} is required"]


def test_recording_key_names_call_recording_and_status() -> None:
    assert KINDS["recording-status"].dedupe_key(RECORDING) == (
        f"recording:CA{'b' * 32}:RE{'c' * 32}:completed"
    )


def test_message_key_keeps_error_and_delivery_date_apart() -> None:
    key = KINDS["messaging-status"].dedupe_key
    assert key(MESSAGE) == f"message:SM{'d' * 32}:undelivered:30003:-"
    assert key({**MESSAGE, "RawDlrDoneDate": "2611211201"}) != key(MESSAGE)
    assert key({**MESSAGE, "ErrorCode": "30005"}) != key(MESSAGE)


_extras = st.dictionaries(
    st.sampled_from(["ApiVersion", "SmsStatus", "RecordingTrack", "Called", "FromCity"]),
    st.text(max_size=8),
)


@given(
    kind=st.sampled_from(["recording-status", "messaging-status"]), extra=_extras, data=st.data()
)
def test_a_retried_callback_has_the_same_key_whatever_else_it_carries(
    kind: str, extra: dict[str, str], data: st.DataObject
) -> None:
    """Retries may add fields or send them in another order: still the same provider event."""
    base = RECORDING if kind == "recording-status" else MESSAGE
    shuffled = dict(data.draw(st.permutations(list({**base, **extra}.items()))))
    assert KINDS[kind].dedupe_key(shuffled) == KINDS[kind].dedupe_key(base)


@given(status=st.sampled_from(["in-progress", "completed", "absent"]))
def test_each_recording_status_is_its_own_event(status: str) -> None:
    key = KINDS["recording-status"].dedupe_key
    assert (key({**RECORDING, "RecordingStatus": status}) == key(RECORDING)) == (
        status == "completed"
    )
