"""Voice status callbacks: reading the wire form, rejecting the unusable, building commands."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.twilio.callbacks import (
    MalformedCallback,
    check_voice_status,
    parse_body,
    parse_form,
    time_field,
    voice_dedupe_key,
    voice_status_command,
)
from domain.call_commands import RecordCallStatus
from domain.commands import Source

FORM = "application/x-www-form-urlencoded"
ACCOUNT = "AC" + "a" * 32
SID = "CA" + "b" * 32
PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def completed_callback(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": SID,
        "CallStatus": "completed",
        "CallDuration": "42",
        "Duration": "1",
        "SipResponseCode": "200",
        "Direction": "outbound-api",
        "From": "+15005550006",
        "To": "+14155551212",
        "FromCity": "",
        "Timestamp": "Thu, 12 Feb 2026 11:48:25 +0000",
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "3",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def problems_of(fields: dict[str, Any]) -> list[str]:
    with pytest.raises(MalformedCallback) as caught:
        check_voice_status(fields)
    return caught.value.problems


def test_form_body_is_decoded_like_twilio_encodes_it() -> None:
    body = urlencode(completed_callback()).encode()

    parsed = parse_body(body, FORM)

    assert parsed.is_json is False
    assert parsed.fields["From"] == "+15005550006"
    assert parsed.fields["Timestamp"] == "Thu, 12 Feb 2026 11:48:25 +0000"
    assert parsed.pairs == list(completed_callback().items())


def test_blank_form_values_are_kept_because_the_signature_covers_them() -> None:
    parsed = parse_body(b"CallSid=CA1&FromCity=&ToCity=", FORM)

    assert parsed.pairs == [("CallSid", "CA1"), ("FromCity", ""), ("ToCity", "")]
    assert parsed.fields["FromCity"] == ""


def test_repeated_form_params_are_kept_as_pairs_and_listed_in_fields() -> None:
    body = b"Sid=CA123&Digits=5678&Digits=1234&Digits=1234"

    parsed = parse_body(body, FORM)

    assert parsed.pairs == [
        ("Sid", "CA123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert parsed.fields == {"Sid": "CA123", "Digits": ["5678", "1234", "1234"]}


@pytest.mark.parametrize("content_type", [FORM, f"{FORM}; charset=utf-8", ""])
def test_form_content_types_are_accepted(content_type: str) -> None:
    parsed = parse_body(b"CallSid=CA1", content_type)

    assert parsed.fields == {"CallSid": "CA1"}


def test_empty_form_body_has_no_fields() -> None:
    parsed = parse_body(b"", FORM)

    assert parsed.pairs == []
    assert parsed.fields == {}


def test_json_body_becomes_fields_and_contributes_no_signed_pairs() -> None:
    body = b'{"CallSid": "CA1", "SequenceNumber": 3, "Nested": {"a": 1}}'

    parsed = parse_body(body, "application/json; charset=utf-8")

    assert parsed.is_json is True
    assert parsed.pairs == []
    assert parsed.fields == {"CallSid": "CA1", "SequenceNumber": 3, "Nested": {"a": 1}}


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("CallSid=CA1&From=caf\u00e9".encode("latin-1"), FORM, "body is not UTF-8"),
        (b"[1, 2]", "application/json", "JSON body must be an object"),
        (b'{"CallSid": ', "application/json", "body is not JSON"),
        (b"CallSid=CA1", "text/plain", "unsupported content type 'text/plain'"),
        (b"CallSid=CA1", "multipart/form-data; boundary=x", "unsupported content type"),
        (b"this is not a form", FORM, "body is not form-encoded"),
    ],
)
def test_unreadable_bodies_are_malformed(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(MalformedCallback) as caught:
        parse_body(body, content_type)

    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem)
    assert isinstance(caught.value, ValueError)


def test_complete_callback_passes_the_check() -> None:
    check_voice_status(completed_callback())


def test_minimal_callback_with_only_required_fields_passes_the_check() -> None:
    check_voice_status({"AccountSid": ACCOUNT, "CallSid": SID, "CallStatus": "ringing"})


@pytest.mark.parametrize("field", ["AccountSid", "CallSid", "CallStatus"])
@pytest.mark.parametrize("absent", [None, ""])
def test_each_required_field_must_be_present(field: str, absent: str | None) -> None:
    assert problems_of(completed_callback(**{field: absent})) == [f"{field} is required"]


def test_required_field_given_twice_is_malformed() -> None:
    assert problems_of(completed_callback(CallSid=[SID, "CA" + "c" * 32])) == [
        "CallSid must appear once"
    ]


@pytest.mark.parametrize("field", ["SequenceNumber", "CallDuration", "SipResponseCode"])
@pytest.mark.parametrize("bad", ["three", "3.5", "0x10"])
def test_integer_fields_must_be_integers(field: str, bad: str) -> None:
    assert problems_of(completed_callback(**{field: bad})) == [f"{field} must be an integer"]


@pytest.mark.parametrize("bad", ["yesterday", "2026-02-12T11:48:25Z", "Thu, 99 Feb 2026"])
def test_timestamp_must_be_an_rfc_2822_date(bad: str) -> None:
    assert problems_of(completed_callback(Timestamp=bad)) == ["Timestamp must be an RFC 2822 date"]


def test_every_problem_is_reported_at_once() -> None:
    fields = completed_callback(CallStatus=None, SequenceNumber="x", Timestamp="soon")

    with pytest.raises(MalformedCallback) as caught:
        check_voice_status(fields)

    assert caught.value.problems == [
        "CallStatus is required",
        "SequenceNumber must be an integer",
        "Timestamp must be an RFC 2822 date",
    ]
    assert str(caught.value) == "; ".join(caught.value.problems)


def test_dedupe_key_names_call_source_sequence_and_status() -> None:
    assert voice_dedupe_key(completed_callback()) == (
        f"voice:{SID}:call-progress-events:3:completed"
    )


def test_retried_callback_has_the_same_dedupe_key() -> None:
    first = completed_callback()
    retry = completed_callback(Timestamp="Thu, 12 Feb 2026 11:48:40 +0000")

    assert voice_dedupe_key(first) == voice_dedupe_key(retry)


@pytest.mark.parametrize(
    "change",
    [
        {"SequenceNumber": "4"},
        {"CallStatus": "busy"},
        {"CallSid": "CA" + "c" * 32},
        {"SequenceNumber": None},
        {"CallbackSource": None},
    ],
)
def test_different_provider_events_have_different_dedupe_keys(change: dict[str, Any]) -> None:
    assert voice_dedupe_key(completed_callback(**change)) != voice_dedupe_key(completed_callback())


def test_sequence_number_zero_is_not_confused_with_a_missing_one() -> None:
    first = completed_callback(CallStatus="initiated", SequenceNumber="0")
    unnumbered = completed_callback(CallStatus="initiated", SequenceNumber=None)

    assert voice_dedupe_key(first) != voice_dedupe_key(unnumbered)


def command_for(fields: dict[str, Any]) -> RecordCallStatus:
    return voice_status_command(
        fields, operation_id="webhook:voice:x", project_id=PROJECT, trace_id=TRACE
    )


def test_command_carries_the_callback_fields() -> None:
    command = command_for(completed_callback(ParentCallSid="CA" + "c" * 32))

    assert command == RecordCallStatus(
        operation_id="webhook:voice:x",
        project_id=PROJECT,
        trace_id=TRACE,
        call_sid=SID,
        status="completed",
        source=Source.WEBHOOK,
        provider_event_time=datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC),
        sequence_number=3,
        direction="outbound-api",
        from_number="+15005550006",
        to_number="+14155551212",
        parent_call_sid="CA" + "c" * 32,
        duration_seconds=42,
        sip_response_code=200,
    )


def test_timestamp_becomes_an_aware_datetime_at_the_same_instant() -> None:
    command = command_for(completed_callback(Timestamp="Thu, 12 Feb 2026 12:48:25 +0100"))

    when = command.provider_event_time
    assert when is not None
    assert when.utcoffset() == timedelta(hours=1)
    assert when == datetime(2026, 2, 12, 11, 48, 25, tzinfo=UTC)


def test_absent_optional_fields_become_none() -> None:
    command = command_for({"AccountSid": ACCOUNT, "CallSid": SID, "CallStatus": "ringing"})

    assert command.provider_event_time is None
    assert command.sequence_number is None
    assert command.direction is None
    assert command.from_number is None
    assert command.parent_call_sid is None
    assert command.duration_seconds is None


def test_empty_strings_from_the_form_become_none() -> None:
    command = command_for(
        completed_callback(
            From="", To="", Direction="", ParentCallSid="", SequenceNumber="", CallDuration=""
        )
    )

    assert command.from_number is None
    assert command.direction is None
    assert command.parent_call_sid is None
    assert command.to_number is None
    assert command.sequence_number is None
    assert command.duration_seconds is None


def test_payload_stored_as_json_numbers_still_builds_a_command() -> None:
    command = command_for(completed_callback(SequenceNumber=3, CallDuration=42))

    assert command.sequence_number == 3
    assert command.duration_seconds == 42


def test_command_from_an_unusable_payload_lists_its_problems() -> None:
    with pytest.raises(MalformedCallback) as caught:
        command_for(completed_callback(SequenceNumber="x", Timestamp="soon"))

    assert caught.value.problems == [
        "Timestamp must be an RFC 2822 date",
        "SequenceNumber must be an integer",
    ]


# The fast form parser must read every body exactly as the standard library does.
_TOKENS = [*"ab=&%+2635dDF0x é", "%26", "%3D", "%2B", "%E2%82", "%AC"]
_form_text = st.lists(st.sampled_from(_TOKENS), max_size=20).map("".join)


@given(_form_text)
def test_form_parser_agrees_with_the_standard_library_on_any_text(text: str) -> None:
    try:
        expected: list[tuple[str, str]] | None = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True
        )
    except ValueError:
        expected = None
    try:
        got: list[tuple[str, str]] | None = parse_form(text)
    except ValueError:
        got = None
    assert got == ([] if not text else expected)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=6))
def test_form_parser_reads_back_what_urlencode_wrote(params: dict[str, str]) -> None:
    assert parse_form(urlencode(params)) == list(params.items())


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)))
def test_twilio_dates_parse_like_the_general_rfc_2822_parser(when: datetime) -> None:
    text = email.utils.format_datetime(when.replace(microsecond=0, tzinfo=UTC))
    assert text.endswith("+0000")
    problems: list[str] = []
    parsed = time_field({"Timestamp": text}, problems)
    assert parsed == email.utils.parsedate_to_datetime(text)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert problems == []


def test_an_impossible_date_in_twilios_shape_is_still_malformed() -> None:
    problems: list[str] = []
    assert time_field({"Timestamp": "Mon, 31 Feb 2026 11:48:25 +0000"}, problems) is None
    assert problems == ["Timestamp must be an RFC 2822 date"]
