"""The chain verifier: an untouched chain holds; any edit, deletion or reorder of one event
is reported at that event's version, and only the first break of an aggregate counts."""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.hash_chain import GENESIS, ChainRow, ChainVerifier, Head, link


def chain(oid: UUID, states: list[bytes], first_position: int = 1) -> list[ChainRow]:
    rows, prev = [], GENESIS
    for i, state in enumerate(states):
        version, position = i + 1, first_position + 3 * i
        prev = link(prev, oid, version, position, "domain.call:Call.Event", state)
        rows.append(ChainRow(oid, version, position, "domain.call:Call.Event", state, prev))
    return rows


def verify(rows: list[ChainRow], start: dict[UUID, Head] | None = None) -> ChainVerifier:
    v = ChainVerifier(start)
    list(v.feed(rows))
    return v


states = st.lists(st.binary(max_size=40), min_size=2, max_size=12)


@given(states)
def test_an_untouched_chain_holds_and_ends_at_its_last_event(s: list[bytes]) -> None:
    oid = uuid4()
    rows = chain(oid, s)
    v = verify(rows)
    assert v.breaks == []
    assert v.heads[oid] == Head(oid, len(s), rows[-1].position, rows[-1].hash)


@given(states, st.data())
def test_an_edited_state_breaks_at_that_version(s: list[bytes], data: st.DataObject) -> None:
    rows = chain(uuid4(), s)
    i = data.draw(st.integers(0, len(rows) - 1))
    rows[i] = rows[i]._replace(state=rows[i].state + b"!")
    [b] = verify(rows).breaks
    assert (b.version, b.position) == (i + 1, rows[i].position)
    assert "hash mismatch" in b.reason


@given(states, st.data())
def test_a_deleted_event_breaks_at_its_version(s: list[bytes], data: st.DataObject) -> None:
    rows = chain(uuid4(), s)
    i = data.draw(st.integers(0, len(rows) - 2))
    del rows[i]
    [b] = verify(rows).breaks
    assert b.version == i + 1
    assert "missing" in b.reason


@given(states, st.data())
def test_swapped_positions_break_at_the_earlier_version(
    s: list[bytes], data: st.DataObject
) -> None:
    rows = chain(uuid4(), s)
    i = data.draw(st.integers(0, len(rows) - 2))
    a, b = rows[i], rows[i + 1]
    rows[i], rows[i + 1] = (
        a._replace(position=b.position),
        b._replace(position=a.position),
    )
    [found] = verify(rows).breaks
    assert found.version == i + 1


def test_a_rehashed_edit_is_caught_at_the_next_event() -> None:
    """Rewriting one event and its stored hash still breaks the link to the next one."""
    rows = chain(uuid4(), [b"a", b"b", b"c"])
    forged = link(rows[0].hash, rows[1].originator_id, 2, rows[1].position, rows[1].topic, b"B")
    rows[1] = rows[1]._replace(state=b"B", hash=forged)
    [b] = verify(rows).breaks
    assert b.version == 3


def test_a_later_month_continues_from_the_earlier_heads() -> None:
    oid = uuid4()
    rows = chain(oid, [b"a", b"b", b"c", b"d"])
    head = Head(oid, 2, rows[1].position, rows[1].hash)
    assert verify(rows[2:], {oid: head}).breaks == []
    assert verify(rows[2:]).breaks[0].version == 1  # no anchor: versions 1-2 are missing
    wrong = Head(oid, 2, rows[1].position, GENESIS)
    assert verify(rows[2:], {oid: wrong}).breaks[0].version == 3


def test_breaks_in_one_aggregate_leave_the_others_verified() -> None:
    good, bad = chain(uuid4(), [b"x", b"y"]), chain(uuid4(), [b"p", b"q"])
    bad[1] = bad[1]._replace(state=b"Q")
    v = verify(good + bad)
    assert [b.originator_id for b in v.breaks] == [bad[0].originator_id]
    assert set(v.heads) == {good[0].originator_id}
