"""An analyst query over 10,000,000 events on chDB, next to bare scans of the same rows.

The events are generated inside ClickHouse (`INSERT ... SELECT FROM numbers()`) into the
real `events` table, so its views (call_events, per-minute outcomes) fill as in production:
1,250,000 calls of 8 events each over a week, 20 campaigns, 3 calls in 5 answered."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import truncate_facts
from adapters.clickhouse.ready_queries import ready_query
from ops.bench.context import BenchContext
from ops.bench.report import Table

TITLE = "Analyst query on chDB (answer rate per campaign per hour)"
EVENTS = 10_000_000
RUNS = 5
PROJECT = "a11a11a1-0000-4000-8000-000000000001"
PERIOD = {"from": "2026-03-01 00:00:00.000", "to": "2026-04-01 00:00:00.000"}
ANSWERED = [
    "call.created",
    "call.status_observed",
    "call.status_observed",
    "call.status_observed",
    "call.answered",
    "call.status_observed",
    "call.ended",
    "call.enriched",
]
UNANSWERED = [*ANSWERED[:4], "call.observation_ignored", "call.observation_ignored", *ANSWERED[6:]]
STATUSES = ["", "initiated", "ringing", "in-progress", "", "completed", "completed", ""]
NO_STATUSES = ["", "initiated", "ringing", "no-answer", "ringing", "ringing", "no-answer", ""]
# n: the event; call = n / 8, k = n % 8 its place in the call; 3 calls in 5 answered.
FILL = f"""
INSERT INTO events (position, project_id, aggregate, aggregate_id, aggregate_version,
    event_type, recorded_at, event_time, operation_id, trace_id, call_sid, campaign_id,
    status, source, payload)
SELECT
    number + 1,
    toUUID('{PROJECT}'),
    'call',
    reinterpret(toUInt128(intDiv(number, 8)), 'UUID'),
    number % 8 + 1,
    if(intDiv(number, 8) % 5 < 3, {ANSWERED}[number % 8 + 1], {UNANSWERED}[number % 8 + 1]),
    addMilliseconds(toDateTime64('2026-03-01 00:00:00', 3, 'UTC'),
                    intDiv(number, 8) * 480 + (number % 8) * 5000) AS at,
    at,
    '',
    '',
    concat('CA', toString(intDiv(number, 8))),
    concat('campaign-', toString(intDiv(number, 8) % 20)),
    nullIf(if(intDiv(number, 8) % 5 < 3, {STATUSES}[number % 8 + 1],
              {NO_STATUSES}[number % 8 + 1]), ''),
    if(number % 8 IN (1, 2, 3, 5), 'webhook', NULL),
    ''
FROM numbers({EVENTS})
"""
COUNT = "SELECT count() FROM events WHERE project_id = {project_id:UUID}"
# The call.ended rows and columns the raw-events version reads, without FINAL or grouping.
SCAN = (
    "SELECT count(), countIf(status = 'completed'), max(campaign_id), max(event_time)"
    " FROM events WHERE project_id = {project_id:UUID} AND event_type = 'call.ended'"
    " AND event_time >= {from:DateTime64(3, 'UTC')} AND event_time < {to:DateTime64(3, 'UTC')}"
)
# Every per-minute outcome set of the project merged at once: the sets the query reads.
MERGE = (
    "SELECT uniqExactMerge(calls) FROM call_outcomes_per_minute"
    " WHERE project_id = {project_id:UUID}"
)
# The same figures straight from the events: one FINAL scan of the call.ended rows.
FROM_EVENTS = """
SELECT toStartOfHour(event_time) AS hour, ifNull(campaign_id, '') AS campaign,
    count() AS calls, countIf(status = 'completed') AS answered
FROM events FINAL
WHERE project_id = {project_id:UUID} AND event_type = 'call.ended'
  AND event_time >= {from:DateTime64(3, 'UTC')} AND event_time < {to:DateTime64(3, 'UTC')}
GROUP BY hour, campaign
"""


def timed(query: Callable[[], object]) -> list[float]:
    """Seconds of each of RUNS runs, after one warm-up run."""
    query()
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        query()
        seconds.append(time.perf_counter() - started)
    return seconds


def run(ctx: BenchContext) -> Table:
    print(f"{TITLE}:", flush=True)
    ch = ClickHouse(f"chdb://{ctx.workdir / 'clickhouse'}")
    try:
        ch.migrate()
        truncate_facts(ch)
        print(f"  generating {EVENTS:,} events into `events`", flush=True)
        started = time.perf_counter()
        ch.command(FILL)
        fill_seconds = time.perf_counter() - started
        ch.command("OPTIMIZE TABLE events FINAL")  # as after a while in production: few parts
        params = {"project_id": PROJECT, **PERIOD}
        sql = ready_query("answer_rate_per_hour")
        stored = ch.query(COUNT, params)[0][0]
        assert stored == EVENTS, f"expected {EVENTS:,} events, found {stored:,}"
        answers = ch.query(sql, params)
        groups = len(answers)
        calls, answered = EVENTS // 8, EVENTS // 8 * 3 // 5
        got = (sum(r[2] for r in answers), sum(r[3] for r in answers))
        assert got == (calls, answered), f"expected {calls:,} calls, {answered:,} answered: {got}"
        by_events = ch.query(FROM_EVENTS, params)
        assert (sum(r[2] for r in by_events), sum(r[3] for r in by_events)) == got
        print(f"  timing each query {RUNS} times", flush=True)
        results = [
            ("Baseline: count() of the project's events", timed(lambda: ch.query(COUNT, params))),
            (
                "Baseline: scan of the 1,250,000 call.ended rows, no FINAL, no grouping",
                timed(lambda: ch.query(SCAN, params)),
            ),
            (
                "Baseline: uniqExactMerge of all the project's outcome sets, no grouping",
                timed(lambda: ch.query(MERGE, params)),
            ),
            (
                "Same figures from `events` FINAL (call.ended scan, campaign x hour)",
                timed(lambda: ch.query(FROM_EVENTS, params)),
            ),
            (
                "answer_rate_per_hour.sql (outcome sets, campaign x hour)",
                timed(lambda: ch.query(sql, params)),
            ),
        ]
    finally:
        ch.close()

    def row(name: str, seconds: list[float], target: bool) -> list[str]:
        median = statistics.median(seconds)
        met = ("yes" if median <= 1.0 else "NO") if target else ""
        return [
            name,
            f"{median * 1000:,.0f}",
            f"{min(seconds) * 1000:,.0f}",
            f"{max(seconds) * 1000:,.0f}",
            "≤ 1,000 ms" if target else "baseline",
            met,
        ]

    rows = [row(name, s, i == len(results) - 1) for i, (name, s) in enumerate(results)]
    return Table(
        TITLE,
        ["query over 10,000,000 events", "median ms", "min ms", "max ms", "target", "met"],
        rows,
        [
            f"{EVENTS:,} events of 1,250,000 calls in one project (8 events per call, 20"
            f" campaigns, one week), generated with INSERT ... SELECT FROM numbers() into the"
            f" real `events` table (its materialized views included) in {fill_seconds:.1f} s,"
            " then OPTIMIZE FINAL.",
            f"The analyst query returns {groups:,} (hour, campaign) rows from the per-minute"
            " outcome sets that the materialized view built from those events (exact: sets"
            " of positions, ADR 0005). The row above it computes the same figures from the"
            " raw events with FINAL; the run checks both give 1,250,000 calls, 750,000"
            " answered.",
            f"Each query ran once to warm up, then {RUNS} times through clickhouse-connect on"
            " chDB (result transfer included).",
        ],
    )
