"""The `calls` row mapping, the fold that feeds it, and how a batch is cut into inserts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from adapters.clickhouse.call_rows import CALL_COLUMN_NAMES, CALL_COLUMNS, call_from_row, call_row
from adapters.clickhouse.client import statements
from adapters.clickhouse.facts import fold, partition_runs
from domain.call import Call
from projections.calls_view import CallRow
from projections.positioned import PositionedEvent

from .samples import PROJECT, T0, ddl_columns, sample_event


def test_the_calls_migration_declares_one_column_per_call_row_field() -> None:
    assert list(CALL_COLUMNS) == [f.name for f in msgspec.structs.fields(CallRow)]
    assert ddl_columns("0003_calls.sql", "calls") == {
        name: kind.replace(" ", "") for name, kind in CALL_COLUMNS.items()
    }


def full_call() -> CallRow:
    return CallRow(
        project_id=PROJECT,
        call_sid="CA1",
        direction="outbound-api",
        status="completed",
        is_final=True,
        last_event_time=T0,
        ended_at=T0 + timedelta(seconds=50),
        price="-0.0075",
        price_unit="USD",
        duration_seconds=50,
        campaign_id="camp-1",
        version=6,
        last_position=120,
        created_at=T0,
        updated_at=T0,
    )


def test_a_call_read_back_naive_and_as_decimal_is_the_state_it_was_written_from() -> None:
    call = full_call()
    values: dict[str, Any] = dict(zip(CALL_COLUMN_NAMES, call_row(call), strict=True))
    assert values["price"] == Decimal("-0.0075")
    assert values["is_final"] is True
    as_chdb_returns = {
        k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in values.items()
    }
    as_chdb_returns["price"] = Decimal("-0.007500")
    assert call_from_row(as_chdb_returns) == call


def test_a_call_row_always_has_a_partition_date() -> None:
    call = msgspec.structs.replace(full_call(), created_at=None)
    values = dict(zip(CALL_COLUMN_NAMES, call_row(call), strict=True))
    assert values["created_at"] == T0


def item(position: int, event: Any) -> PositionedEvent:
    return PositionedEvent(position, event)


def test_the_fold_ignores_an_event_the_state_already_includes() -> None:
    created = sample_event(Call.Created, version=1, call_sid="CA1", project_id=PROJECT)
    ended = sample_event(Call.Ended, version=2, call_sid="CA1", project_id=PROJECT)
    state = fold(fold(None, item(1, created)), item(2, ended))
    before = msgspec.structs.replace(state)
    assert fold(state, item(1, created)) == before
    assert fold(state, item(2, ended)) == before
    assert (state.version, state.ended_at, state.campaign_id) == (2, T0, "campaign_id-value")


def test_the_fold_refuses_an_event_that_skips_a_version() -> None:
    created = sample_event(Call.Created, version=1, call_sid="CA1", project_id=PROJECT)
    ended = sample_event(Call.Ended, version=3, call_sid="CA1", project_id=PROJECT)
    with pytest.raises(LookupError, match="state at version 1, next event 3"):
        fold(fold(None, item(1, created)), item(2, ended))


def test_a_batch_is_cut_into_one_insert_per_month_in_position_order() -> None:
    jan = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    feb = jan + timedelta(seconds=2)
    base = sample_event(Call.Frozen)
    times = [jan, jan, feb, jan, feb, feb]
    items = [item(i, replace(base, timestamp=t)) for i, t in enumerate(times, start=10)]
    assert list(partition_runs(items)) == [(0, 2), (2, 3), (3, 4), (4, 6)]
    assert list(partition_runs(items[:2])) == [(0, 2)]


def test_a_migration_file_is_split_into_its_statements() -> None:
    sql = (
        "-- a comment; not a statement\n"
        "CREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory;\n\n"
        "-- only a comment\n"
        "-- and another\n"
        "CREATE VIEW b AS SELECT 1;\n"
        "-- trailing\n"
    )
    assert statements(sql) == [
        "-- a comment; not a statement\nCREATE TABLE a (x String DEFAULT ';')\nENGINE = Memory",
        "-- only a comment\n-- and another\nCREATE VIEW b AS SELECT 1",
    ]
    assert statements("CREATE TABLE c (x UInt8) ENGINE = Memory") == [
        "CREATE TABLE c (x UInt8) ENGINE = Memory"
    ]
