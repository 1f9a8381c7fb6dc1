"""Observability: masked phone numbers, W3C trace continuation and one JSON object per log."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.nats.wire import traceparent
from entrypoints.observability import JsonFormatter, mask_phone, trace_id_from, trace_id_var

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_phone_number_is_masked_but_still_correlatable() -> None:
    assert mask_phone("+14155551212") == "+1415*****12"


def test_missing_phone_number_stays_missing() -> None:
    assert mask_phone(None) is None
    assert mask_phone("") == ""


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_masked_e164_number_never_shows_the_whole_number(number: str) -> None:
    masked = mask_phone(number)

    assert masked is not None
    assert masked != number
    assert len(masked) == len(number)
    assert "*" in masked
    assert masked.endswith(number[-2:])


def test_seven_digit_local_number_is_not_logged_in_clear() -> None:
    # The guard passes values under seven characters through unchanged; at exactly
    # seven the mask has zero stars, so a dialable local number is logged whole.
    masked = mask_phone("5551212")

    assert masked != "5551212"
    assert masked is not None
    assert "*" in masked


def test_sip_and_client_identities_are_masked_too() -> None:
    assert mask_phone("client:alice-smith") == "clien***********th"
    assert mask_phone("sip:bob@example.com") == "sip:b************om"


def test_valid_traceparent_continues_the_callers_trace() -> None:
    assert trace_id_from(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    assert trace_id_from(f"  00-{TRACE}-00f067aa0ba902b7-00\n") == TRACE


def test_traceparent_written_for_the_feed_is_continued_by_the_reader() -> None:
    assert trace_id_from(traceparent(TRACE, 4711)) == TRACE


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "nonsense",
        f"00-{TRACE}",
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        f"00-{TRACE}ab-00f067aa0ba902b7-01",
        f"00-{TRACE}-00f067aa0ba902b7-01; injected",
    ],
)
def test_missing_or_invalid_traceparent_starts_a_new_trace(garbage: str | None) -> None:
    trace_id = trace_id_from(garbage)

    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert trace_id != "0" * 32
    assert trace_id != TRACE
    assert trace_id_from(garbage) != trace_id


@pytest.fixture
def log_output() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.unit.observability")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_log_record_is_one_json_object_with_the_current_trace_id(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output
    token = trace_id_var.set(TRACE)
    try:
        logger.info("stored %s\nsecond line", "callback", extra={"inbox_id": 7})
        logger.warning("retrying")
    finally:
        trace_id_var.reset(token)

    first, second = lines(stream)
    assert first["msg"] == "stored callback\nsecond line"
    assert first["level"] == "info"
    assert first["logger"] == "tests.unit.observability"
    assert first["trace_id"] == TRACE
    assert first["inbox_id"] == 7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(first["ts"]))
    assert second["level"] == "warning"
    assert second["trace_id"] == TRACE


def test_trace_id_given_with_the_record_wins_over_the_context(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output
    token = trace_id_var.set(TRACE)
    try:
        logger.info("inbox row failed", extra={"trace_id": "0af7651916cd43dd8448eb211c80319c"})
    finally:
        trace_id_var.reset(token)

    (entry,) = lines(stream)
    assert entry["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


def test_record_outside_any_trace_has_no_trace_id(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output

    logger.info("started")

    (entry,) = lines(stream)
    assert "trace_id" not in entry


def test_exception_is_logged_inside_the_same_json_object(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("unhandled error")

    (entry,) = lines(stream)
    assert entry["level"] == "error"
    assert "RuntimeError: boom" in str(entry["exception"])
