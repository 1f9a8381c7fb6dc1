"""ClickHouseFacts: every event as a typed `events` row, and each call's latest `calls` row."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from adapters.clickhouse.call_rows import CALL_COLUMN_NAMES, call_from_row, call_row
from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.fact_rows import COLUMN_NAMES, event_row, utc
from domain.call import Call
from projections.calls_view import CallRow, CallsViewProjection
from projections.positioned import EVERY_EVENT, PositionedEvent

# Everything this sink writes, directly or through materialized views: what a rebuild empties.
FACT_TABLES = (
    "events",
    "calls",
    "call_events",
    "call_outcomes_per_minute",
    "campaign_results_per_minute",
)
CallKey = tuple[str, str]


def truncate_facts(ch: ClickHouse) -> None:
    """Empty every fact table. TRUNCATE also forgets the insert tokens; DELETE would not."""
    for table in FACT_TABLES:
        ch.command(f"TRUNCATE TABLE IF EXISTS {table}")


def fold(state: CallRow | None, item: PositionedEvent) -> CallRow:
    """The call after this event; an event the state already includes changes nothing, and
    one that skips a version is refused (folding over a hole would be silently wrong)."""
    version = item.event.originator_version
    if state is not None and version <= state.version:
        return state
    if state is not None and version > state.version + 1:
        msg = f"call {state.call_sid}: state at version {state.version}, next event {version}"
        raise LookupError(msg)
    return CallsViewProjection.fold(state, item)


def partition_runs(items: Sequence[PositionedEvent]) -> Iterator[tuple[int, int]]:
    """[start, stop) slices of consecutive events in one month of recorded_at: one insert
    each, so each is one part (atomic) and max(position) never passes a missing row."""
    start = 0
    for i in range(1, len(items) + 1):
        if i == len(items) or _month(items[i]) != _month(items[start]):
            yield start, i
            start = i


def _month(item: PositionedEvent) -> tuple[int, int]:
    when = utc(item.event.timestamp)
    assert when is not None
    return when.year, when.month


def fact_rows(
    items: Sequence[PositionedEvent], states: dict[CallKey, CallRow]
) -> tuple[list[list[Any]], dict[CallKey, CallRow]]:
    """The `events` rows of a batch, and the calls it touched as they stand after it.
    `states` holds each continued call's state before the batch; it is advanced in place."""
    touched: dict[CallKey, CallRow] = {}
    rows: list[list[Any]] = []
    for item in items:
        e = item.event
        call = None
        if isinstance(e, Call.Event):
            key = (e.project_id, e.call_sid)
            call = touched[key] = states[key] = fold(states.get(key), item)
        rows.append(event_row(item, call))
    return rows, touched


def raw_rows(items: Sequence[PositionedEvent]) -> tuple[list[list[Any]], list[str]]:
    """What the sink inserts into `events` for a run that starts with each call's creation,
    and the column names: for benchmarks and tests that bypass the sink."""
    return fact_rows(items, {})[0], COLUMN_NAMES


class ClickHouseFacts:
    """ProjectionSink for every aggregate. Its checkpoint is max(position) of `events`, which
    is written last, in position order, one atomic insert per partition; `calls` rows are
    written first and guarded by version, so a crash anywhere only leads to a replay, and a
    replay changes nothing a FINAL or uniqExact query can see (ADR 0005).

    A batch may start in the middle of a call: the call's state comes from a bounded cache
    of recently touched calls, else from `calls` FINAL.

    Every batch is written under `gate`: a rebuild in the same process holds it to pause
    this sink while it swaps the tables (ADR 0007)."""

    name = "clickhouse:facts"
    reads = EVERY_EVENT

    def __init__(
        self, ch: ClickHouse, *, cache_size: int = 50_000, gate: asyncio.Lock | None = None
    ) -> None:
        self.ch = ch
        self.cache_size = cache_size
        self.gate = gate or asyncio.Lock()
        self._calls: OrderedDict[CallKey, CallRow] = OrderedDict()

    async def position(self) -> int:
        rows = await asyncio.to_thread(self.ch.query, "SELECT max(position) FROM events")
        return int(rows[0][0] or 0)

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        if not items:
            return await self.position()
        try:
            async with self.gate:
                await asyncio.to_thread(self._write, items)
        except BaseException:
            self._calls.clear()  # the fold mutates cached rows; the tables are the truth
            raise
        return items[-1].position

    def _write(self, items: Sequence[PositionedEvent]) -> None:
        rows, touched = fact_rows(items, self._states(items))
        span = f"{items[0].position}-{items[-1].position}"
        if touched:
            calls = [call_row(c) for c in touched.values()]
            self.ch.insert("calls", calls, CALL_COLUMN_NAMES, f"calls:{span}")
        for start, stop in partition_runs(items):
            token = f"events:{items[start].position}-{items[stop - 1].position}"
            self.ch.insert("events", rows[start:stop], COLUMN_NAMES, token)
        self._remember(touched)

    def _states(self, items: Sequence[PositionedEvent]) -> dict[CallKey, CallRow]:
        """The state before this batch of every call it continues (not those it creates)."""
        states: dict[CallKey, CallRow] = {}
        missing: set[CallKey] = set()
        for item in items:
            e = item.event
            if not isinstance(e, Call.Event):
                continue
            key = (e.project_id, e.call_sid)
            if key in states or key in missing:
                continue
            cached = self._calls.get(key)
            if cached is not None and e.originator_version <= cached.version + 1:
                states[key] = cached
            elif not isinstance(e, Call.Created):  # unknown here, or cached by an older term
                missing.add(key)
        return states | (self._read_calls(missing) if missing else {})

    def _read_calls(self, keys: set[CallKey]) -> dict[CallKey, CallRow]:
        sql = (
            f"SELECT {', '.join(CALL_COLUMN_NAMES)} FROM calls FINAL"
            " WHERE project_id IN {projects:Array(UUID)} AND call_sid IN {sids:Array(String)}"
        )
        params = {
            "projects": sorted({p for p, _ in keys}),
            "sids": sorted({s for _, s in keys}),
        }
        found: dict[CallKey, CallRow] = {}
        for values in self.ch.query(sql, params):
            call = call_from_row(dict(zip(CALL_COLUMN_NAMES, values, strict=True)))
            if (call.project_id, call.call_sid) in keys:
                found[(call.project_id, call.call_sid)] = call
        return found

    def _remember(self, touched: dict[CallKey, CallRow]) -> None:
        for key, call in touched.items():
            self._calls[key] = call
            self._calls.move_to_end(key)
        while len(self._calls) > self.cache_size:
            self._calls.popitem(last=False)
