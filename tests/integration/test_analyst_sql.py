"""Analyst SQL on chDB: read-only by the engine, and confined to the caller's project even for
hand-written queries that name the real tables, system tables or table functions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.clickhouse.analyst import AnalystSql, QueryFailed, QueryRefused, analyst_database
from analytics_data import OTHER_PROJECT, PROJECT, fresh_facts, project_facts, specs
from entrypoints.observability import mask_phone

MINE, THEIRS = specs(PROJECT, calls=7), specs(OTHER_PROJECT, calls=5)


@pytest.fixture(scope="module")
def analyst(clickhouse_url: str) -> Iterator[AnalystSql]:
    ch = fresh_facts(clickhouse_url)
    project_facts(ch, MINE + THEIRS)
    ch.close()
    sql = AnalystSql(clickhouse_url)
    yield sql
    sql.close()


def count(analyst: AnalystSql, project: str, sql: str) -> int:
    return int(analyst.run(project, sql).rows[0][0])


def test_each_project_sees_only_its_own_calls(analyst: AnalystSql) -> None:
    assert count(analyst, PROJECT, "SELECT count() FROM calls") == len(MINE)
    assert count(analyst, OTHER_PROJECT, "SELECT count() FROM calls") == len(THEIRS)
    assert count(analyst, PROJECT, "SELECT uniqExact(project_id) FROM events") == 1
    mine = analyst.run(PROJECT, "SELECT DISTINCT call_sid FROM call_events ORDER BY call_sid")
    assert [r[0] for r in mine.rows] == sorted(s.sid for s in MINE)


def test_a_filter_on_another_project_finds_nothing(analyst: AnalystSql) -> None:
    sql = "SELECT count() FROM events WHERE project_id = {p:UUID}"
    assert analyst.run(PROJECT, sql, {"p": OTHER_PROJECT}).rows == [[0]]


def test_the_projects_parameter_cannot_be_overridden(analyst: AnalystSql) -> None:
    sql = "SELECT toString({project_id:UUID})"
    assert analyst.run(PROJECT, sql, {"project_id": OTHER_PROJECT}).rows == [[PROJECT]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count() FROM default.events",
        "SELECT count() FROM `default`.calls",
        "SELECT count() FROM system.tables",
        "SELECT * FROM INFORMATION_SCHEMA.TABLES",
        "SELECT count() FROM events WHERE position IN default.events",
        "SELECT count() FROM events WHERE call_sid IN (SELECT call_sid FROM default.calls)",
        f"SELECT count() FROM {analyst_database(OTHER_PROJECT)}.events",
        "SELECT count() FROM merge('default', 'events')",
        "SELECT count() FROM remote('127.0.0.1', default.events)",
        "SELECT * FROM view(SELECT * FROM default.events)",
        "SELECT * FROM numbers(10)",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT file('/etc/passwd')",
        "SELECT dictGet('d', 'a', toUInt64(1))",
        "WITH x AS (SELECT * FROM default.events) SELECT count() FROM x",
        "SELECT count() FROM events AS e JOIN system.one AS o ON 1",
    ],
)
def test_reaching_outside_the_projects_views_is_refused(analyst: AnalystSql, sql: str) -> None:
    with pytest.raises(QueryRefused):
        analyst.run(PROJECT, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO calls SELECT * FROM calls",
        "ALTER TABLE events DELETE WHERE 1",
        "DROP TABLE events",
        "TRUNCATE TABLE calls",
        "CREATE TABLE x (a UInt8) ENGINE = Memory",
        "SELECT 1; DROP TABLE events",
        "SELECT 1 INTO OUTFILE 'out.csv'",
        "SELECT 1 FORMAT CSV",
    ],
)
def test_anything_but_one_select_is_refused(analyst: AnalystSql, sql: str) -> None:
    with pytest.raises(QueryRefused):
        analyst.run(PROJECT, sql)
    assert count(analyst, PROJECT, "SELECT count() FROM calls") == len(MINE)


def test_the_engine_itself_refuses_writes_and_settings(analyst: AnalystSql) -> None:
    """readonly = 1 is on the session: it holds even where the parse check would not."""
    with pytest.raises(QueryFailed, match="readonly"):
        analyst.run(PROJECT, "SELECT count() FROM calls SETTINGS readonly = 0")
    with pytest.raises(QueryFailed, match="readonly"):
        analyst.run(PROJECT, "SELECT count() FROM calls SETTINGS max_result_rows = 0")
    session = analyst._session(PROJECT)  # what run() executes on, used bare
    for statement in ("INSERT INTO calls SELECT * FROM calls", "DROP VIEW calls"):
        with pytest.raises(Exception, match="readonly"):
            session.command(statement)
    assert count(analyst, PROJECT, "SELECT count() FROM calls") == len(MINE)


def test_strings_and_comments_may_hold_what_code_may_not(analyst: AnalystSql) -> None:
    sql = "SELECT 'a;b default.events' AS s -- numbers(1); DROP\nFROM calls LIMIT 1;"
    assert analyst.run(PROJECT, sql).rows == [["a;b default.events"]]


def test_errors_name_the_problem(analyst: AnalystSql) -> None:
    with pytest.raises(QueryFailed, match="no_such_column"):
        analyst.run(PROJECT, "SELECT no_such_column FROM calls")
    with pytest.raises(QueryRefused, match="empty"):
        analyst.run(PROJECT, "  ;")


def test_phone_numbers_are_masked_unless_the_caller_may_see_them(analyst: AnalystSql) -> None:
    sql = "SELECT call_sid, to_number FROM calls ORDER BY call_sid"
    raw = analyst.run(PROJECT, sql, pii=True).rows
    assert [r[1] for r in raw] == ["+14155550000"] * len(MINE)  # what the first callback said
    masked = analyst.run(PROJECT, sql).rows
    assert masked == [[sid, mask_phone(number)] for sid, number in raw]
    numbers = "SELECT DISTINCT to_number FROM events WHERE to_number IS NOT NULL"
    assert analyst.run(PROJECT, numbers).rows == [[mask_phone("+14155550000")]]
