"""A month of the event log as an NDJSON file that can be verified with nothing else.

Lines, in order: an `archive` header; per aggregate, an `anchor` (its last event before the
month: version, position, hash) when it started earlier, then its `event`s in version order
(the stored bytes: topic, state as text, position, hash); a `head` per aggregate (its last
event in the month); and an `end` line with the counts and a digest of the heads. The next
month's anchors must equal this month's heads, so consecutive archives chain together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import msgspec

from domain.hash_chain import Break, ChainRow, ChainVerifier, Head

FORMAT = "switchboard.audit.archive/1"


class _Typed(msgspec.Struct):
    data: str = msgspec.field(name="_data_")


class _Stamp(msgspec.Struct):
    timestamp: _Typed | None = None


_stamp = msgspec.json.Decoder(_Stamp)
_encode = msgspec.json.Encoder().encode


def recorded_at(state: bytes) -> datetime | None:
    """When the event was recorded (the library's `timestamp`), or None if unreadable."""
    try:
        stamp = _stamp.decode(state).timestamp
        return datetime.fromisoformat(stamp.data) if stamp else None
    except (msgspec.DecodeError, ValueError):
        return None


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-10' -> [2026-10-01, 2026-11-01) in UTC."""
    start = date.fromisoformat(f"{month}-01")
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return (
        datetime(start.year, start.month, 1, tzinfo=UTC),
        datetime(end.year, end.month, 1, tzinfo=UTC),
    )


def heads_digest(heads: Iterable[Head]) -> str:
    """sha256 over the heads in aggregate order: one value to keep elsewhere per archive."""
    h = hashlib.sha256()
    for head in sorted(heads, key=lambda x: x.originator_id.bytes):
        h.update(head.originator_id.bytes + head.version.to_bytes(8, "big") + head.hash)
    return h.hexdigest()


@dataclass
class ArchiveSummary:
    month: str
    events: int = 0
    heads: dict[UUID, Head] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return heads_digest(self.heads.values())


def write_archive(rows: Iterable[ChainRow], month: str, out: IO[bytes]) -> ArchiveSummary:
    """Write the month's events of `rows` (grouped by aggregate, in version order)."""
    start, end = month_bounds(month)
    summary = ArchiveSummary(month)
    out.write(
        _line(
            {
                "kind": "archive",
                "format": FORMAT,
                "month": month,
                "from": start,
                "to": end,
                "created_at": datetime.now(UTC),
            }
        )
    )
    before: ChainRow | None = None
    for row in rows:
        if before is not None and before.originator_id != row.originator_id:
            before = None
        at = recorded_at(row.state)
        if at is not None and at < start:
            before = row
            continue
        if at is not None and at >= end:
            continue
        if before is not None:  # the first of this aggregate in the month: anchor it
            out.write(_line({"kind": "anchor", **_head(before)}))
            before = None
        out.write(_line({"kind": "event", **_event(row)}))
        summary.events += 1
        summary.heads[row.originator_id] = Head(
            row.originator_id, row.version, row.position, row.hash
        )
    for head in summary.heads.values():
        out.write(_line({"kind": "head", **_head(head)}))
    out.write(
        _line(
            {
                "kind": "end",
                "events": summary.events,
                "aggregates": len(summary.heads),
                "heads_digest": summary.digest,
            }
        )
    )
    return summary


@dataclass
class ArchiveCheck:
    """What verifying archive files found: breaks of chains, and problems of the files."""

    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    heads: dict[UUID, Head] = field(default_factory=dict)
    digests: list[tuple[str, str]] = field(default_factory=list)  # (file, heads digest)

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.problems


def verify_archives(paths: list[Path]) -> ArchiveCheck:
    """Recompute every chain in the files, oldest month first; each file's anchors must
    equal the heads the earlier files ended with."""
    check = ArchiveCheck()
    for path in paths:
        _verify_file(path, check)
    return check


def _verify_file(path: Path, check: ArchiveCheck) -> None:
    anchors: dict[UUID, Head] = dict(check.heads)  # an earlier month's heads, if given
    listed: dict[UUID, Head] = {}
    end: dict[str, Any] = {}
    verifier = ChainVerifier(anchors)

    def rows() -> Iterator[ChainRow]:
        with path.open("rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    line = msgspec.json.decode(raw)
                    kind = line["kind"]
                    if kind == "event":
                        yield _row(line)
                    elif kind == "anchor":
                        anchor = _parse_head(line)
                        earlier = check.heads.get(anchor.originator_id)
                        if earlier is not None and earlier != anchor:
                            check.problems.append(
                                f"{path.name}:{number}: the anchor of {anchor.originator_id}"
                                f" (version {anchor.version}) is not where the previous archive"
                                f" ended (version {earlier.version})"
                            )
                        anchors[anchor.originator_id] = anchor
                    elif kind == "head":
                        head = _parse_head(line)
                        listed[head.originator_id] = head
                    elif kind == "end":
                        end.update(line)
                except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
                    check.problems.append(f"{path.name}:{number}: unreadable line ({exc})")

    for _ in verifier.feed(rows()):
        pass
    check.events += verifier.events
    check.breaks += verifier.breaks
    broken = {b.originator_id for b in verifier.breaks}
    if not end:
        check.problems.append(f"{path.name}: no `end` line: the file is truncated")
    elif end.get("events") != verifier.events:
        check.problems.append(
            f"{path.name}: {verifier.events} events, but the file says {end.get('events')}"
        )
    for oid, head in verifier.heads.items():
        if oid not in broken and listed.get(oid) != head:
            where = listed.get(oid)
            check.problems.append(
                f"{path.name}: aggregate {oid} ends at version {head.version}, but its head line"
                + (f" says version {where.version}" if where else " is missing")
                + " (an event was removed or added at its end?)"
            )
    for oid in listed.keys() - verifier.heads.keys() - broken:
        check.problems.append(f"{path.name}: head line for {oid}, which has no events")
    check.heads.update(verifier.heads)
    check.digests.append((path.name, heads_digest(verifier.heads.values())))


def _line(record: dict[str, Any]) -> bytes:
    return _encode(record) + b"\n"


def _event(row: ChainRow) -> dict[str, Any]:
    try:
        state: dict[str, str] = {"state": row.state.decode()}
    except UnicodeDecodeError:
        state = {"state_hex": row.state.hex()}
    return {
        "originator_id": str(row.originator_id),
        "version": row.version,
        "position": row.position,
        "topic": row.topic,
        **state,
        "hash": row.hash.hex(),
    }


def _row(line: dict[str, Any]) -> ChainRow:
    state = line["state"].encode() if "state" in line else bytes.fromhex(line["state_hex"])
    return ChainRow(
        UUID(line["originator_id"]),
        int(line["version"]),
        int(line["position"]),
        str(line["topic"]),
        state,
        bytes.fromhex(line["hash"]),
    )


def _head(h: ChainRow | Head) -> dict[str, Any]:
    return {
        "originator_id": str(h.originator_id),
        "version": h.version,
        "position": h.position,
        "hash": h.hash.hex(),
    }


def _parse_head(line: dict[str, Any]) -> Head:
    return Head(
        UUID(line["originator_id"]),
        int(line["version"]),
        int(line["position"]),
        bytes.fromhex(line["hash"]),
    )


def names_in(path: Path, ids: set[UUID]) -> dict[UUID, bytes]:
    """The first event state of each of `ids` in the file (to name what broke)."""
    found: dict[UUID, bytes] = {}
    with path.open("rb") as f:
        for raw in f:
            try:
                line = msgspec.json.decode(raw)
                oid = UUID(line.get("originator_id", ""))
            except (msgspec.DecodeError, ValueError, AttributeError):
                continue
            if line.get("kind") == "event" and oid in ids and oid not in found:
                found[oid] = _row(line).state
    return found
