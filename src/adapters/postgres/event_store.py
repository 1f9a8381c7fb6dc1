"""The append-only event store: the eventsourcing library's PostgreSQL recorder, used in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor

from adapters.postgres.database import eventsourcing_env
from adapters.postgres.keyed import by_keys
from domain.call import Call, call_id, replay
from domain.hash_chain import GENESIS, link
from projections.positioned import PositionedEvent


@dataclass(frozen=True, slots=True)
class Link:
    """A stored event with its place in the log and in its aggregate's hash chain."""

    position: int
    version: int
    hash: bytes
    prev_hash: bytes
    event: Any


@dataclass(frozen=True, slots=True)
class Streams:
    """Aggregates rebuilt from their events, and the hash each one's chain ends with."""

    aggregates: dict[UUID, Any]
    heads: dict[UUID, bytes]


class EventLog(Application):  # type: ignore[type-arg]
    """All aggregates share one application, so one global sequence orders every event."""

    name = "eventlog"


class PostgresEventStore:
    """Batch-oriented access to the store: load many aggregates and append in the caller's
    transaction, so inbox marking, operation ids and events commit together."""

    def __init__(self, database_url: str, pool_size: int = 2) -> None:
        # The library (re)creates its tables and insert function on construction; processes
        # starting together then collide ("tuple concurrently updated"), so take turns.
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('event store setup'))")
            self.app = EventLog(env=eventsourcing_env(database_url, pool_size))
        self.recorder = cast(PostgresApplicationRecorder, self.app.recorder)
        self.mapper = self.app.mapper
        self.table = self.recorder.events_table_name
        self.channel = self.recorder.channel_name
        self._insert = (
            f"INSERT INTO {self.table}"
            " (originator_id, originator_version, topic, state, notification_id, hash)"
            " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[],"
            " %b::bigint[], %b::bytea[])"
        )
        self._positions = (
            f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'notification_id'))"
            " FROM generate_series(1, %s)"
        )
        self._prev_hashes = by_keys(
            self.table,
            ["originator_id", "hash"],
            [("originator_id", "uuid"), ("originator_version", "bigint")],
            placeholder="%b",  # binary parameters, as the insert's
        )

    def close(self) -> None:
        self.app.close()

    def connection(self) -> Any:
        """A pooled connection with the library's type adapters (autocommit; open a txn)."""
        return self.recorder.datastore.get_connection()

    def load(self, curs: Cursor[Any], ids: Iterable[UUID]) -> dict[UUID, Any]:
        """Rebuild many aggregates with one query."""
        return self.streams(curs, ids).aggregates

    def streams(self, curs: Cursor[Any], ids: Iterable[UUID]) -> Streams:
        """Many aggregates and their chains' heads, to decide on and then `append` to."""
        return self.fold(self.select_streams(curs, ids).fetchall())

    def select_streams(self, curs: Cursor[Any], ids: Iterable[UUID]) -> Cursor[Any]:
        """Send the query `fold` reads. Fetch it later, and in a pipeline other statements
        share its round trip."""
        return curs.execute(
            f"SELECT originator_id, originator_version, topic, state, hash FROM {self.table}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
            (list(ids),),
        )

    def fold(self, rows: Iterable[dict[str, Any]]) -> Streams:
        streams = Streams({}, {})
        for row in rows:
            oid = row["originator_id"]
            event: Any = self.mapper.to_domain_event(
                StoredEvent(oid, row["originator_version"], row["topic"], bytes(row["state"]))
            )
            streams.aggregates[oid] = event.mutate(streams.aggregates.get(oid))
            streams.heads[oid] = row["hash"]  # bytea comes back as bytes
        return streams

    def append(
        self, curs: Cursor[Any], events: Sequence[Any], heads: Mapping[UUID, bytes] | None = None
    ) -> None:
        """Append in the caller's transaction, under the library's own table lock and NOTIFY
        (so commit order stays position order). The positions are taken under the lock and
        the hash chain is computed here (the trigger of migration 0008 only fills in hashes
        for other writers; `audit verify` checks both alike, ADR 0010).

        `heads`: the hashes the aggregates' chains ended with when `streams` loaded them.
        Had another writer appended since, the insert of the same version fails
        (IntegrityError). Without them they are read under the lock, a round trip more.
        Parameters go as binary arrays (%b): the library's composite-array text encoding
        costs more than the decisions do."""
        if not events:
            return
        stored = [self.mapper.to_stored_event(e) for e in events]
        self.recorder._lock_table(curs)
        self.recorder._notify_channel(curs)
        positions = [r["nextval"] for r in curs.execute(self._positions, (len(stored),))]
        if heads is None:
            heads = self._heads_before(curs, stored)
        hashes = chain_hashes(stored, positions, heads)
        curs.execute(
            self._insert,
            (
                [s.originator_id for s in stored],
                [s.originator_version for s in stored],
                [s.topic for s in stored],
                [s.state for s in stored],
                positions,
                hashes,
            ),
            binary=True,
        )

    def _heads_before(self, curs: Cursor[Any], stored: list[StoredEvent]) -> dict[UUID, bytes]:
        """The stored hash each aggregate's first new event chains to (none for new ones)."""
        firsts: dict[UUID, int] = {}
        for s in stored:
            firsts.setdefault(cast(UUID, s.originator_id), s.originator_version)
        wanted = [(oid, v - 1) for oid, v in firsts.items() if v > 1]
        if not wanted:
            return {}
        rows = curs.execute(
            self._prev_hashes, ([w[0] for w in wanted], [w[1] for w in wanted]), binary=True
        ).fetchall()
        return {r["originator_id"]: bytes(r["hash"]) for r in rows}

    def read(self, after: int, upto: int | None, limit: int) -> list[PositionedEvent]:
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, stop=upto, inclusive_of_start=False
        )
        return [PositionedEvent(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def read_raw(self, after: int, limit: int) -> Sequence[Any]:
        return list(
            self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        )

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def aggregate(self, aggregate_id: UUID) -> Any | None:
        """The current state of any aggregate, or None if it has no events."""
        with self.connection() as conn:
            return self.load(conn.cursor(), [aggregate_id]).get(aggregate_id)

    def call_events(self, project_id: str, call_sid: str) -> list[Any]:
        """A call's whole stream, oldest first (empty for an unknown call)."""
        stored = self.recorder.select_events(call_id(project_id, call_sid))
        return [self.mapper.to_domain_event(s) for s in stored]

    def call_chain(self, project_id: str, call_sid: str) -> list[Link]:
        """A call's events with their positions and hashes, oldest first."""
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT originator_id, originator_version, notification_id, topic, state, hash"
                f" FROM {self.table} WHERE originator_id = %s ORDER BY originator_version",
                (call_id(project_id, call_sid),),
            ).fetchall()
        links: list[Link] = []
        for row in rows:
            event = self.mapper.to_domain_event(
                StoredEvent(
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["state"]),
                )
            )
            prev = links[-1].hash if links else GENESIS
            links.append(
                Link(row["notification_id"], row["originator_version"], row["hash"], prev, event)
            )
        return links

    def call_as_of(
        self,
        project_id: str,
        call_sid: str,
        *,
        at: datetime | None = None,
        version: int | None = None,
    ) -> Call | None:
        """Point in time: the call after a version, or as the log knew it at a time."""
        return replay(self.call_events(project_id, call_sid), as_of=at, version=version)


def chain_hashes(
    stored: Sequence[StoredEvent], positions: Sequence[int], heads: Mapping[UUID, bytes]
) -> list[bytes]:
    """Each event's hash, chained to its aggregate's previous one (in `heads`, or earlier in
    this batch). An aggregate missing from `heads` at a version above 1 is refused."""
    last: dict[UUID, bytes] = {}
    hashes = []
    for s, position in zip(stored, positions, strict=True):
        oid = cast(UUID, s.originator_id)
        prev = last.get(oid) or heads.get(oid)
        if prev is None:
            if s.originator_version != 1:
                msg = f"event {s.originator_version} of {oid} has no predecessor to chain to"
                raise ValueError(msg)
            prev = GENESIS
        last[oid] = link(prev, oid, s.originator_version, position, s.topic, s.state)
        hashes.append(last[oid])
    return hashes


class StoreEventSource:
    """EventSource port over the synchronous library, run off the event loop."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    async def read(self, after: int, upto: int | None, limit: int) -> list[PositionedEvent]:
        return await asyncio.to_thread(self.store.read, after, upto, limit)

    async def head(self) -> int:
        return await asyncio.to_thread(self.store.head)
