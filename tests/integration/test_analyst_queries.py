"""Every ready query on chDB, over facts projected from a generated day whose answers are known
by construction (tests/analytics_data.py): expected figures come from the call specs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.clickhouse.analyst import AnalystSql, QueryResult
from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.ready_queries import ready_queries, ready_query
from analytics_data import (
    FROM,
    OTHER_PROJECT,
    PROJECT,
    T0,
    TO,
    CallSpec,
    fresh_facts,
    project_facts,
    specs,
)

SPECS = specs()
RANGE = {"from": FROM, "to": TO}


@pytest.fixture(scope="module")
def facts(clickhouse_url: str) -> Iterator[ClickHouse]:
    ch = fresh_facts(clickhouse_url)
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def projected(facts: ClickHouse) -> tuple[datetime, datetime]:
    """The generated day (and another project's calls) through the real ClickHouse sink;
    returns the wall-clock window the projection ran in."""
    before = datetime.now(UTC)
    project_facts(facts, SPECS + specs(OTHER_PROJECT, calls=10))
    return before, datetime.now(UTC)


@pytest.fixture(scope="module")
def analyst(projected: tuple[datetime, datetime], clickhouse_url: str) -> Iterator[AnalystSql]:
    sql = AnalystSql(clickhouse_url)
    yield sql
    sql.close()


def run(analyst: AnalystSql, name: str, **params: Any) -> list[dict[str, Any]]:
    result: QueryResult = analyst.run(PROJECT, ready_query(name), {**RANGE, **params})
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def campaign(spec: CallSpec) -> str:
    return spec.campaign or ""


def test_every_ready_query_has_a_test_here() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(ready_queries()) <= tested


def test_answer_rate(analyst: AnalystSql) -> None:
    groups: dict[str, list[CallSpec]] = defaultdict(list)
    for s in SPECS:
        groups[campaign(s)].append(s)
        groups["*"].append(s)
    expected = {}
    for name, calls in groups.items():
        answered = [s for s in calls if s.answered]
        delivered = [s for s in calls if s.outcome in ("completed", "busy", "no-answer")]
        expected[name] = (
            len(calls),
            len(answered),
            pytest.approx(len(answered) / len(calls), abs=1e-4),
            pytest.approx(len(answered) / len(delivered), abs=1e-4),
            pytest.approx(sum(s.duration_s for s in answered) / len(answered), abs=0.01),
        )
    rows = run(analyst, "answer_rate")
    got = {
        r["campaign"]: (r["calls"], r["answered"], r["asr"], r["answer_rate"], r["acd_seconds"])
        for r in rows
    }
    assert got == expected
    assert rows[0]["campaign"] == "*"


def test_answer_rate_counts_only_calls_ended_in_range(analyst: AnalystSql) -> None:
    cut = SPECS[10].ended_at
    rows = run(analyst, "answer_rate", to=cut)
    assert rows[0]["calls"] == sum(1 for s in SPECS if s.ended_at < cut)


def test_answer_rate_per_hour(analyst: AnalystSql) -> None:
    expected: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0])
    for s in SPECS:
        hour = s.ended_at.replace(minute=0, second=0, microsecond=0)
        expected[(hour, campaign(s))][0] += 1
        expected[(hour, campaign(s))][1] += s.answered
    rows = run(analyst, "answer_rate_per_hour")
    got = {
        (r["hour"].replace(tzinfo=UTC), r["campaign"]): [r["calls"], r["answered"]] for r in rows
    }
    assert got == dict(expected)
    for r in rows:
        assert r["answer_rate"] == pytest.approx(r["answered"] / r["calls"], abs=1e-4)


def _outcomes(key: Any) -> dict[Any, int]:
    return dict(Counter(key(s) for s in SPECS))


def test_outcomes_per_hour(analyst: AnalystSql) -> None:
    rows = run(analyst, "outcomes_per_hour")
    got = {(r["hour"].replace(tzinfo=UTC), r["status"]): r["calls"] for r in rows}
    assert got == _outcomes(
        lambda s: (s.ended_at.replace(minute=0, second=0, microsecond=0), s.outcome)
    )


def test_outcomes_per_campaign(analyst: AnalystSql) -> None:
    rows = run(analyst, "outcomes_per_campaign")
    got = {(r["campaign_id"], r["status"]): r["calls"] for r in rows}
    assert got == _outcomes(lambda s: (campaign(s), s.outcome))


def test_outcomes_per_project(analyst: AnalystSql) -> None:
    got = {r["status"]: r["calls"] for r in run(analyst, "outcomes_per_project")}
    assert got == _outcomes(lambda s: s.outcome)
    assert sum(got.values()) == len(SPECS)  # the other project's calls are not here


def test_status_funnel(analyst: AnalystSql) -> None:
    def reached(status: str) -> int:
        return sum(1 for s in SPECS if status in {st for st, _ in s.status_times()})

    rows = run(analyst, "status_funnel")
    assert [(r["stage"], r["calls"]) for r in rows] == [
        ("created", len(SPECS)),
        ("initiated", reached("initiated")),
        ("ringing", reached("ringing")),
        ("in-progress", reached("in-progress")),
        ("completed", reached("completed")),
    ]
    assert reached("ringing") < len(SPECS)  # the funnel narrows: failed/canceled never rang


def _quantiles(values: list[int], levels: tuple[float, ...]) -> list[int]:
    """ClickHouse quantileExact: the element at floor(level * n) of the sorted values."""
    ordered = sorted(values)
    return [ordered[min(int(level * len(ordered)), len(ordered) - 1)] for level in levels]


def test_time_to_answer(analyst: AnalystSql) -> None:
    waits = [int((s.answered_at - s.start).total_seconds() * 1000) for s in SPECS if s.answered]
    [row] = run(analyst, "time_to_answer")
    assert row["answered"] == len(waits)
    assert row["p50_p90_p95_p99_ms"] == _quantiles(waits, (0.5, 0.9, 0.95, 0.99))
    assert row["max_ms"] == max(waits)


def test_projection_latency(
    analyst: AnalystSql, facts: ClickHouse, projected: tuple[datetime, datetime]
) -> None:
    start, end = projected
    # What the sink stamped on each webhook row: read back raw, the percentiles done here.
    raw = facts.query(
        "SELECT recorded_at, projected_at, provider_event_time FROM events FINAL"
        " WHERE project_id = {p:UUID} AND source = 'webhook'",
        {"p": PROJECT},
    )
    webhook_statuses = sum(
        len(s.status_times()) - (1 if s.final_by_reconcile else 0) for s in SPECS
    )
    assert len(raw) == webhook_statuses
    for _, projected_at, _ in raw:
        assert start - timedelta(seconds=1) <= projected_at.replace(tzinfo=UTC) <= end

    def ms(a: datetime, b: datetime) -> int:  # dateDiff('millisecond'): whole ms boundaries
        return int(b.timestamp() * 1000) - int(a.timestamp() * 1000)

    levels = (0.5, 0.9, 0.95, 0.99)
    [row] = run(analyst, "projection_latency")
    assert row["events"] == webhook_statuses
    assert row["store_to_projection_ms"] == _quantiles([ms(r, p) for r, p, _ in raw], levels)
    assert row["provider_to_projection_ms"] == _quantiles([ms(v, p) for _, p, v in raw], levels)


def test_reconcile_drift(analyst: AnalystSql) -> None:
    missed = sum(1 for s in SPECS if s.final_by_reconcile)
    confirmed = sum(1 for s in SPECS if s.confirmed_by_reconcile)
    [row] = run(analyst, "reconcile_drift")
    assert row["day"] == T0.date()  # the whole generated day is recorded on T0's date
    assert row["missed_statuses"] == missed
    assert row["drifted_calls"] == missed
    assert row["enrichments"] == sum(1 for s in SPECS if s.price is not None)
    assert row["confirmations"] == confirmed
    assert row["drift_rate"] == pytest.approx(missed / (missed + confirmed), abs=1e-4)


def test_late_enrichment(analyst: AnalystSql) -> None:
    priced = [s for s in SPECS if s.price is not None]

    def lateness(s: CallSpec) -> int:  # dateDiff('second'): whole-second boundaries
        enriched = s.ended_at + timedelta(seconds=s.enriched_after_s)
        return int(enriched.timestamp()) - int(s.recorded(s.ended_at).timestamp())

    [row] = run(analyst, "late_enrichment")
    assert row["source"] == "reconcile"
    assert row["late_enrichments"] == len(priced)
    assert row["calls"] == len(priced)
    assert row["lateness_p50_p95_s"] == _quantiles([lateness(s) for s in priced], (0.5, 0.95))
    assert row["lateness_max_s"] == max(lateness(s) for s in priced)


def test_cost_per_campaign(analyst: AnalystSql) -> None:
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for s in SPECS:
        key = (campaign(s), "USD" if s.price is not None else "")
        row = expected.setdefault(
            key, {"calls": 0, "priced_calls": 0, "cost": Decimal(0), "billed": 0, "answered": 0}
        )
        row["calls"] += 1
        row["answered"] += s.answered
        if s.price is not None:
            row["priced_calls"] += 1
            row["cost"] -= s.price
            row["billed"] += s.billed_s
    rows = run(analyst, "cost_per_campaign")
    got = {
        (r["campaign"], r["currency"]): (
            r["calls"],
            r["priced_calls"],
            r["cost"],
            r["billed_seconds"],
        )
        for r in rows
    }
    assert got == {
        k: (v["calls"], v["priced_calls"], v["cost"], v["billed"]) for k, v in expected.items()
    }
    for r in rows:
        answered = expected[(r["campaign"], r["currency"])]["answered"]
        if r["currency"] == "USD":
            assert r["cost_per_answered_call"] == pytest.approx(
                float(r["cost"]) / answered, abs=1e-6
            )
        else:  # nothing priced: no cost per call rather than a misleading zero
            assert r["cost_per_answered_call"] is None
