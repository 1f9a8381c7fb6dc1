"""ProjectionRunner: exactly-once effect from a feed that repeats, reorders and loses messages."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from projections.positioned import PositionedEvent
from projections.runner import ProjectionRunner

# Zero would still depend on the clock having ticked between two loop turns.
CHECK_EVERY_LOOP = -1.0


class InMemorySink:
    """ProjectionSink fake: keeps its position with what it applied; skips what is behind it."""

    name = "in_memory"

    def __init__(self, position: int = 0) -> None:
        self._position = position
        self.received: list[int] = []
        self.applied: list[PositionedEvent] = []

    async def position(self) -> int:
        return self._position

    async def apply(self, items: Sequence[PositionedEvent]) -> int:
        for item in items:
            self.received.append(item.position)
            if item.position > self._position:
                self.applied.append(item)
                self._position = item.position
        return self._position

    @property
    def applied_positions(self) -> list[int]:
        return [i.position for i in self.applied]


class InMemorySource:
    """EventSource fake: the complete, ordered store (positions may skip rolled-back values)."""

    def __init__(self, positions: Sequence[int] = ()) -> None:
        self.items = [stored(p) for p in positions]
        self.reads: list[tuple[int, int | None]] = []

    def append(self, *positions: int) -> None:
        self.items += [stored(p) for p in positions]

    async def read(self, after: int, upto: int | None, limit: int) -> list[PositionedEvent]:
        self.reads.append((after, upto))
        found = [
            i for i in self.items if i.position > after and (upto is None or i.position <= upto)
        ]
        return found[:limit]

    async def head(self) -> int:
        return self.items[-1].position if self.items else 0


@dataclass(eq=False)
class Message:
    position: int
    item: PositionedEvent | None
    acks: int = 0  # how many times a batch holding it was acked


class ScriptedFeed:
    """EventFeed fake: hands out prepared batches, then nothing."""

    def __init__(self, *batches: list[Message]) -> None:
        self.batches = deque(batches)

    async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
        return self.batches.popleft() if self.batches else []

    async def ack(self, messages: Sequence[Message]) -> None:
        for message in messages:
            message.acks += 1


def stored(position: int) -> PositionedEvent:
    return PositionedEvent(position, f"stored event {position}")


def relayed(position: int) -> Message:
    return Message(position, PositionedEvent(position, f"relayed event {position}"))


def runner(
    sink: InMemorySink, source: InMemorySource, *, batch_size: int = 500
) -> ProjectionRunner:
    return ProjectionRunner(sink, ScriptedFeed(), source, batch_size=batch_size)


def test_contiguous_feed_messages_are_applied_as_they_are_without_reading_the_store() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 3])
    messages = [relayed(1), relayed(2), relayed(3)]
    run = runner(sink, source)

    asyncio.run(run.handle(messages))

    assert sink.applied == [m.item for m in messages]
    assert source.reads == []
    assert run.position == 3
    assert [m.acks for m in messages] == [1, 1, 1]


def test_reordered_but_complete_batch_is_applied_in_position_order() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 3])
    run = runner(sink, source)

    asyncio.run(run.handle([relayed(3), relayed(1), relayed(2)]))

    assert sink.applied_positions == [1, 2, 3]
    assert source.reads == []


def test_hole_in_positions_is_read_back_from_the_store() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 3, 4])
    messages = [relayed(1), relayed(2), relayed(4)]
    run = runner(sink, source)

    asyncio.run(run.handle(messages))

    assert sink.applied == source.items
    assert (0, 4) in source.reads
    assert run.position == 4
    assert all(m.acks == 1 for m in messages)


def test_hole_between_the_stored_position_and_the_first_message_is_repaired() -> None:
    sink, source = InMemorySink(position=3), InMemorySource([1, 2, 3, 4, 5])
    run = runner(sink, source)
    run.position = 3

    asyncio.run(run.handle([relayed(5)]))

    assert sink.applied_positions == [4, 5]
    assert source.reads[0] == (3, 5)


def test_value_skipped_by_a_rolled_back_writer_does_not_stall_the_runner() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 4, 5])
    run = runner(sink, source)

    asyncio.run(run.handle([relayed(1), relayed(2), relayed(4)]))
    asyncio.run(run.handle([relayed(5)]))

    assert sink.applied_positions == [1, 2, 4, 5]
    assert run.position == 5


def test_duplicates_in_a_batch_are_applied_once_and_all_acked() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2])
    messages = [relayed(1), relayed(1), relayed(2), relayed(2)]
    run = runner(sink, source)

    asyncio.run(run.handle(messages))

    assert sink.received == [1, 2]
    assert sink.applied_positions == [1, 2]
    assert all(m.acks == 1 for m in messages)


def test_redelivered_messages_at_or_below_the_position_are_acked_not_reapplied() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 3])
    run = runner(sink, source)
    asyncio.run(run.handle([relayed(1), relayed(2), relayed(3)]))
    redelivered = [relayed(2), relayed(3)]

    asyncio.run(run.handle(redelivered))

    assert sink.received == [1, 2, 3]
    assert source.reads == []
    assert run.position == 3
    assert all(m.acks == 1 for m in redelivered)


def test_message_without_its_event_is_repaired_from_the_store() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2])
    messages = [Message(1, None), relayed(2)]
    run = runner(sink, source)

    asyncio.run(run.handle(messages))

    assert sink.applied_positions == [1, 2]
    assert sink.applied[0] is source.items[0]
    assert all(m.acks == 1 for m in messages)


def test_lost_tail_is_caught_up_from_the_store() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2, 3, 4, 5])
    run = runner(sink, source)
    asyncio.run(run.handle([relayed(1), relayed(2)]))

    asyncio.run(run.catch_up())

    assert sink.applied_positions == [1, 2, 3, 4, 5]
    assert run.position == 5


def test_catch_up_pages_through_a_long_backlog() -> None:
    sink, source = InMemorySink(), InMemorySource(range(1, 12))
    run = runner(sink, source, batch_size=4)

    asyncio.run(run.catch_up())

    assert sink.applied_positions == list(range(1, 12))
    assert sink.received == list(range(1, 12))
    assert run.position == 11


def test_catch_up_with_nothing_new_changes_nothing() -> None:
    sink, source = InMemorySink(position=2), InMemorySource([1, 2])
    run = runner(sink, source)
    run.position = 2

    asyncio.run(run.catch_up())

    assert sink.received == []
    assert run.position == 2


def test_run_resumes_from_the_sinks_stored_position() -> None:
    sink, source = InMemorySink(position=2), InMemorySource([1, 2, 3, 4])
    stop = asyncio.Event()

    class StopWhenAsked(ScriptedFeed):
        async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
            stop.set()
            return []

    run = ProjectionRunner(sink, StopWhenAsked(), source)

    asyncio.run(run.run(stop))

    assert sink.received == [3, 4]
    assert run.position == 4


def test_run_applies_feed_messages_and_repairs_the_tail_when_the_feed_is_silent() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2])
    stop = asyncio.Event()
    first = [relayed(1), relayed(2)]

    class OneBatchThenSilence(ScriptedFeed):
        async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
            if self.batches:
                return self.batches.popleft()
            # The relay lost these: they reach the store but never the feed.
            source.append(3, 4)
            stop.set()
            return []

    run = ProjectionRunner(
        sink, OneBatchThenSilence(first), source, stall_check_seconds=CHECK_EVERY_LOOP
    )

    asyncio.run(run.run(stop))

    assert sink.applied_positions == [1, 2, 3, 4]
    assert all(m.acks == 1 for m in first)


def test_a_silent_feed_is_repaired_at_the_next_check_not_only_at_the_stop() -> None:
    sink, source = InMemorySink(), InMemorySource([1, 2])
    stop = asyncio.Event()
    seen_before_stop: list[int] = []

    class LosesTheTail(ScriptedFeed):
        async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
            if self.batches:
                return self.batches.popleft()
            if 3 not in [i.position for i in source.items]:
                source.append(3, 4)  # stored, never relayed
                return []
            seen_before_stop.extend(sink.applied_positions)
            stop.set()
            return []

    run = ProjectionRunner(
        sink, LosesTheTail([relayed(1), relayed(2)]), source, stall_check_seconds=CHECK_EVERY_LOOP
    )

    asyncio.run(run.run(stop))

    assert seen_before_stop == [1, 2, 3, 4]


class BehindTheStore(ScriptedFeed):
    """A flowing feed one event a fetch, while the store grows three a fetch: the sink
    falls ever further behind the store's head, without a hole."""

    def __init__(self, source: InMemorySource, stop: asyncio.Event, fetches: int) -> None:
        super().__init__()
        self.source, self.stop, self.fetches = source, stop, fetches
        self.delivered = 0
        self.reads_before_stop = 0

    async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
        if self.delivered == self.fetches:
            self.reads_before_stop = len(self.source.reads)
            self.stop.set()
            return []
        head = await self.source.head()
        self.source.append(head + 1, head + 2, head + 3)
        self.delivered += 1
        return [relayed(self.delivered)]


def run_behind_the_store(max_lag_seconds: float) -> tuple[BehindTheStore, InMemorySink]:
    """Ten fetches of BehindTheStore, checking for a stall after each one."""
    sink, source = InMemorySink(), InMemorySource()
    stop = asyncio.Event()
    feed = BehindTheStore(source, stop, fetches=10)
    run = ProjectionRunner(
        sink, feed, source, stall_check_seconds=CHECK_EVERY_LOOP, max_lag_seconds=max_lag_seconds
    )
    asyncio.run(run.run(stop))
    return feed, sink


def test_a_sink_behind_a_flowing_feed_is_left_to_the_feed() -> None:
    """The events are on their way through the feed: reading them from the store as well
    would do the work twice."""
    feed, sink = run_behind_the_store(max_lag_seconds=60.0)

    assert feed.reads_before_stop == 1  # the read at start only
    assert sink.received[:10] == list(range(1, 11))


def test_a_sink_further_behind_than_max_lag_is_caught_up_from_the_store() -> None:
    feed, sink = run_behind_the_store(max_lag_seconds=0.0)

    assert feed.reads_before_stop > 1
    assert sink.applied_positions == [i.position for i in feed.source.items]


def test_run_reads_the_store_while_the_feed_is_down() -> None:
    sink, source = InMemorySink(), InMemorySource([1])
    stop = asyncio.Event()

    class DownFeed(ScriptedFeed):
        async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
            source.append(2)
            stop.set()
            raise ConnectionError("nats: no servers available")

    run = ProjectionRunner(sink, DownFeed(), source, stall_check_seconds=CHECK_EVERY_LOOP)

    asyncio.run(run.run(stop))

    assert sink.applied_positions == [1, 2]


class TimedFeed(ScriptedFeed):
    """Records when each fetch came; stops the runner once its batches are handed out."""

    def __init__(self, stop: asyncio.Event, *batches: list[Message]) -> None:
        super().__init__(*batches)
        self.stop = stop
        self.fetched_at: list[float] = []

    async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
        self.fetched_at.append(asyncio.get_running_loop().time())
        if not self.batches:
            self.stop.set()
        return await super().fetch(max_items, timeout)


def test_a_lingering_runner_lets_the_next_batch_gather_after_a_short_one() -> None:
    sink, source = InMemorySink(), InMemorySource()
    stop = asyncio.Event()
    feed = TimedFeed(stop, [relayed(1)], [relayed(2), relayed(3)])

    asyncio.run(ProjectionRunner(sink, feed, source, batch_size=10, linger_seconds=0.05).run(stop))

    assert sink.applied_positions == [1, 2, 3]
    gaps = [b - a for a, b in zip(feed.fetched_at, feed.fetched_at[1:], strict=False)]
    assert len(gaps) == 2
    assert all(gap >= 0.045 for gap in gaps)


def test_a_full_batch_is_followed_at_once_however_long_the_linger() -> None:
    sink, source = InMemorySink(), InMemorySource()
    stop = asyncio.Event()
    feed = TimedFeed(stop, [relayed(1), relayed(2)], [relayed(3), relayed(4)])
    run = ProjectionRunner(sink, feed, source, batch_size=2, linger_seconds=30.0)

    asyncio.run(asyncio.wait_for(run.run(stop), timeout=10))  # a backlog never lingers

    assert sink.applied_positions == [1, 2, 3, 4]


def test_stopping_ends_a_linger_at_once() -> None:
    sink, source = InMemorySink(), InMemorySource()
    stop = asyncio.Event()

    class StopAfterFirst(ScriptedFeed):
        async def fetch(self, max_items: int, timeout: float) -> Sequence[Message]:
            batch = await super().fetch(max_items, timeout)
            stop.set()
            return batch

    run = ProjectionRunner(sink, StopAfterFirst([relayed(1)]), source, linger_seconds=30.0)

    asyncio.run(asyncio.wait_for(run.run(stop), timeout=10))

    assert sink.applied_positions == [1]
