"""The event store on PostgreSQL: stored events evolve (upcasting) and can be read back in time."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg

from adapters.postgres.event_store import PostgresEventStore
from domain.call import Call, call_id, record_call_status
from domain.call_commands import RecordCallStatus
from support import all_at_once

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"


def test_a_stored_v1_created_event_is_read_as_v2(
    store: PostgresEventStore, database_url: str
) -> None:
    """Rows written before the campaign links existed load through the upcaster chain."""
    v1_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T10:00:00+00:00"},
        "originator_topic": "domain.call:Call",
        "project_id": PROJECT,
        "call_sid": "CAv1",
        "operation_id": "webhook:v1",
        "trace_id": "0" * 32,
        "direction": "inbound",
        "from_number": "+15005550006",
        "to_number": "+14155551212",
        "parent_call_sid": None,
    }
    with psycopg.connect(database_url) as conn:
        conn.execute(
            f"INSERT INTO {store.table} (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 'domain.call:Call.Created', %s)",
            (call_id(PROJECT, "CAv1"), json.dumps(v1_state).encode()),
        )

    created = store.call_events(PROJECT, "CAv1")[0]
    call = store.call_as_of(PROJECT, "CAv1")

    assert isinstance(created, Call.Created)
    assert created.campaign_id is None
    assert created.attempt_id is None
    assert call is not None
    assert call.direction == "inbound"
    assert call.campaign_id is None
    assert type(created).class_version == 2


def test_a_call_can_be_read_as_of_a_version_and_as_of_a_time(
    store: PostgresEventStore,
) -> None:
    call = None
    for seq, status in enumerate(["initiated", "ringing", "completed"]):
        call, _ = record_call_status(
            call,
            RecordCallStatus(
                operation_id=f"op-{seq}",
                project_id=PROJECT,
                call_sid="CApit",
                status=status,
                sequence_number=seq,
            ),
        )
        with store.connection() as conn, conn.transaction():
            store.append(conn.cursor(), call.collect_events())
    events = store.call_events(PROJECT, "CApit")
    ringing = next(e for e in events if getattr(e, "status", None) == "ringing")

    by_version = store.call_as_of(PROJECT, "CApit", version=ringing.originator_version)
    by_time = store.call_as_of(PROJECT, "CApit", at=ringing.timestamp + timedelta(microseconds=1))
    now = store.call_as_of(PROJECT, "CApit")

    assert by_version is not None
    assert by_time is not None
    assert now is not None
    assert by_version.status == by_time.status == "ringing"
    assert now.status == "completed"
    assert store.call_as_of(PROJECT, "CAunknown") is None


def test_processes_starting_together_all_open_the_store(database_url: str) -> None:
    """`up` starts several processes at once, each opening the store, which (re)creates the
    library's tables and insert function: none may fail because another did it too."""
    errors = all_at_once(lambda: PostgresEventStore(database_url, pool_size=1).close(), 6)

    assert errors == []
