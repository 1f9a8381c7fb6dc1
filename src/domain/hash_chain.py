"""The hash chain over stored events (ADR 0010), recomputed independently of the database.

Each event's hash covers its aggregate's previous hash and the event's canonical bytes, so
editing, deleting or moving any event changes every later hash of that aggregate. The
database computes the same function on insert (schemas/postgres/0008_event_hash_chain.sql);
this module is the independent side of the check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

GENESIS = bytes(32)
"""The previous hash of every aggregate's first event."""


class ChainRow(NamedTuple):
    """One stored event, as the chain sees it (a tuple: verify builds millions of them)."""

    originator_id: UUID
    version: int
    position: int
    topic: str
    state: bytes
    hash: bytes


def link(
    prev: bytes, originator_id: UUID, version: int, position: int, topic: str, state: bytes
) -> bytes:
    """sha256(prev || id (16) || version (int8 BE) || position (int8 BE) || len(topic) (int4 BE)
    || topic (UTF-8) || state)."""
    t = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                prev,
                originator_id.bytes,
                version.to_bytes(8, "big", signed=True),
                position.to_bytes(8, "big", signed=True),
                len(t).to_bytes(4, "big"),
                t,
                state,
            )
        )
    ).digest()


@dataclass(frozen=True, slots=True)
class Break:
    """Where a chain stops holding: the first bad version of one aggregate."""

    originator_id: UUID
    version: int
    position: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last verified event of an aggregate: what an archive or a later check anchors to."""

    originator_id: UUID
    version: int
    position: int
    hash: bytes


class ChainVerifier:
    """Feed rows grouped by aggregate, in version order; collect breaks and heads.

    Only the first break of an aggregate is reported: every later hash depends on it.
    `start` gives an aggregate's verified head from before the rows fed (an archive of a
    later month continues from the heads of the month before).
    """

    def __init__(self, start: dict[UUID, Head] | None = None) -> None:
        self.start = start if start is not None else {}
        self.breaks: list[Break] = []
        self.heads: dict[UUID, Head] = {}
        self.events = 0

    def feed(self, rows: Iterable[ChainRow]) -> Iterator[ChainRow]:
        """Verify rows as they stream through (yielded back, for progress and exports)."""
        current: UUID | None = None
        prev, expected, last_position, broken = GENESIS, 1, 0, False
        for row in rows:
            self.events += 1
            if row.originator_id != current:
                self._close(current, expected, last_position, prev, broken)
                current = row.originator_id
                anchor = self.start.get(current)
                prev, expected, last_position, broken = (
                    (anchor.hash, anchor.version + 1, anchor.position, False)
                    if anchor
                    else (GENESIS, 1, 0, False)
                )
            if not broken:
                reason = _check(row, prev, expected, last_position)
                if reason:
                    broken = True
                    self.breaks.append(Break(row.originator_id, expected, row.position, reason))
                else:
                    prev, expected, last_position = row.hash, row.version + 1, row.position
            yield row
        self._close(current, expected, last_position, prev, broken)

    def _close(
        self, current: UUID | None, expected: int, position: int, prev: bytes, broken: bool
    ) -> None:
        if current is not None and not broken and expected > 1:
            self.heads[current] = Head(current, expected - 1, position, prev)


def _check(row: ChainRow, prev: bytes, expected: int, last_position: int) -> str | None:
    if row.version > expected:
        missing = (
            f"version {expected}"
            if row.version == expected + 1
            else f"versions {expected}-{row.version - 1}"
        )
        return f"{missing} missing before version {row.version} (deleted?)"
    if row.version < expected:
        return f"version {row.version} appears again after version {expected - 1}"
    if row.position <= last_position:
        return (
            f"position {row.position} is not after the previous event's {last_position}"
            " (log reordered?)"
        )
    computed = link(prev, row.originator_id, row.version, row.position, row.topic, row.state)
    if computed != row.hash:
        return "hash mismatch: the event or its position was changed"
    return None
