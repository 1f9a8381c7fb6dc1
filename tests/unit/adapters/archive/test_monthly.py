"""Monthly archives: written from the chain, verified from the file alone; consecutive months
chain together; any change to a file is found and named."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.archive.monthly import verify_archives, write_archive
from domain.hash_chain import GENESIS, ChainRow, link

TOPIC = "domain.call:Call.StatusObserved"


def state(at: datetime, call_sid: str) -> bytes:
    stamp = {"_type_": "datetime_iso", "_data_": at.isoformat()}
    return json.dumps({"timestamp": stamp, "project_id": "p1", "call_sid": call_sid}).encode()


def store(calls: int = 3) -> list[ChainRow]:
    """Each call has two events in October and two in November, by aggregate and version."""
    times = [
        datetime(2026, 10, 30, tzinfo=UTC),
        datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 2, tzinfo=UTC),
    ]
    rows: list[ChainRow] = []
    position = 0
    for c in range(calls):
        oid, prev = uuid4(), GENESIS
        for version, at in enumerate(times, 1):
            position += 1
            s = state(at, f"CA{c}")
            prev = link(prev, oid, version, position, TOPIC, s)
            rows.append(ChainRow(oid, version, position, TOPIC, s, prev))
    return sorted(rows, key=lambda r: (r.originator_id.bytes, r.version))


def archive(tmp_path: Path, rows: list[ChainRow], month: str) -> Path:
    path = tmp_path / f"{month}.ndjson"
    with path.open("wb") as out:
        write_archive(rows, month, out)
    return path


def test_two_months_verify_alone_and_together(tmp_path: Path) -> None:
    rows = store()
    october, november = archive(tmp_path, rows, "2026-10"), archive(tmp_path, rows, "2026-11")
    for paths in ([october], [november], [october, november]):
        check = verify_archives(paths)
        assert check.ok, (check.breaks, check.problems)
    assert verify_archives([october, november]).events == 12


def test_an_edited_event_in_the_file_is_named(tmp_path: Path) -> None:
    path = archive(tmp_path, store(), "2026-11")
    lines = path.read_bytes().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if b'"kind":"event"' in line)
    target = json.loads(lines[i])
    lines[i] = lines[i].replace(b"CA", b"CB", 1)
    path.write_bytes(b"".join(lines))
    check = verify_archives([path])
    assert [(b.originator_id, b.version, b.position) for b in check.breaks] == [
        (UUID(target["originator_id"]), target["version"], target["position"])
    ]


def test_a_removed_last_event_disagrees_with_the_head_line(tmp_path: Path) -> None:
    path = archive(tmp_path, store(), "2026-11")
    lines = path.read_bytes().splitlines(keepends=True)
    last_event = max(n for n, line in enumerate(lines) if b'"kind":"event"' in line)
    del lines[last_event]
    path.write_bytes(b"".join(lines))
    check = verify_archives([path])
    assert not check.ok
    assert any("head line says version 4" in p for p in check.problems), check.problems


def test_a_truncated_file_is_reported(tmp_path: Path) -> None:
    path = archive(tmp_path, store(), "2026-10")
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-2]))
    assert any("truncated" in p for p in verify_archives([path]).problems)


def test_a_month_that_does_not_continue_the_previous_one_is_reported(tmp_path: Path) -> None:
    rows = store()
    october = archive(tmp_path, rows, "2026-10")
    november = archive(tmp_path, rows, "2026-11")
    lines = november.read_bytes().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if b'"kind":"anchor"' in line)
    anchor = json.loads(lines[i])
    anchor["hash"] = "00" * 32
    lines[i] = json.dumps(anchor).encode() + b"\n"
    november.write_bytes(b"".join(lines))
    check = verify_archives([october, november])
    assert any("is not where the previous archive ended" in p for p in check.problems)
    assert check.breaks  # and the chain from the forged anchor does not hold either


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_flipped_byte_in_an_event_is_found(tmp_path: Path, data: st.DataObject) -> None:
    buffer = io.BytesIO()
    write_archive(store(2), "2026-11", buffer)
    lines = buffer.getvalue().splitlines(keepends=True)
    events = [n for n, line in enumerate(lines) if b'"kind":"event"' in line]
    i = data.draw(st.sampled_from(events))
    record = json.loads(lines[i])
    field = data.draw(st.sampled_from(["state", "position", "version", "topic"]))
    record[field] = (record[field] + 1) if isinstance(record[field], int) else record[field] + " "
    lines[i] = json.dumps(record).encode() + b"\n"
    path = tmp_path / "flipped.ndjson"
    path.write_bytes(b"".join(lines))
    assert not verify_archives([path]).ok


def test_a_month_without_events_is_an_empty_but_valid_archive(tmp_path: Path) -> None:
    path = archive(tmp_path, store(), "2026-09")
    check = verify_archives([path])
    assert check.ok
    assert check.events == 0


def test_unreadable_lines_are_reported_not_skipped(tmp_path: Path) -> None:
    path = archive(tmp_path, store(1), "2026-10")
    path.write_bytes(path.read_bytes().replace(b'"kind":"event"', b'"kind":"event', 1))
    check = verify_archives([path])
    assert any("unreadable line" in p for p in check.problems), check.problems
