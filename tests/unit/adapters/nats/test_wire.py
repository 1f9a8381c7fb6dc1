"""NATS wire format: subjects per project and event, and the traceparent header."""

from __future__ import annotations

import re

import pytest
from eventsourcing.utils import get_topic

from adapters.nats.wire import SUBJECTS, subject, traceparent
from domain.call import Call

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("event_class", "expected"),
    [
        (Call.Created, f"sb.{PROJECT}.call.created"),
        (Call.StatusObserved, f"sb.{PROJECT}.call.status_observed"),
        (Call.ObservationIgnored, f"sb.{PROJECT}.call.observation_ignored"),
    ],
)
def test_each_call_event_has_its_own_subject_under_the_project(
    event_class: type, expected: str
) -> None:
    assert subject(PROJECT, get_topic(event_class)) == expected


def test_subject_is_built_from_the_stored_topic_string() -> None:
    assert subject("p1", "domain.call:Call.StatusObserved") == "sb.p1.call.status_observed"


def test_every_subject_is_captured_by_the_stream() -> None:
    prefix = SUBJECTS.removesuffix(">")

    assert subject(PROJECT, get_topic(Call.Created)).startswith(prefix)


def test_subject_has_exactly_four_tokens_so_wildcards_work() -> None:
    tokens = subject(PROJECT, get_topic(Call.StatusObserved)).split(".")

    assert len(tokens) == 4
    assert all(re.fullmatch(r"[a-z0-9_-]+", t) for t in tokens)


def test_traceparent_continues_the_trace_with_the_position_as_span() -> None:
    assert traceparent(TRACE, 255) == f"00-{TRACE}-00000000000000ff-01"


@pytest.mark.parametrize("bad", ["", "not-a-trace", TRACE.upper(), TRACE[:-1]])
def test_traceparent_without_a_usable_trace_id_is_still_well_formed(bad: str) -> None:
    header = traceparent(bad, 1)

    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", header)
    assert header.split("-")[1] != "0" * 32
