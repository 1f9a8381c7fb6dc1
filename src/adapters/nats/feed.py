"""JetStreamFeed: a durable pull consumer, decoded back into positioned domain events."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import TopicError, resolve_topic
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from adapters.nats.jetstream import JetStream
from adapters.nats.wire import STREAM, SUBJECTS, Header
from projections.ports import FeedMessage
from projections.positioned import EVERY_EVENT, PositionedEvent, Unread

log = logging.getLogger(__name__)
GATHER_SECONDS = 0.005  # after the first message: how long the rest of a burst may take


@dataclass(slots=True)
class JetStreamMessage:
    position: int
    item: PositionedEvent | None
    msg: Any


class JetStreamFeed:
    """`reads`: the event classes the projection uses. Other events are not decoded (most
    of the log is other aggregates' events for most projections); they arrive as `Unread`."""

    def __init__(
        self,
        jetstream: JetStream,
        durable: str,
        mapper: Mapper[UUID],
        reads: tuple[type, ...] = EVERY_EVENT,
    ) -> None:
        self.jetstream = jetstream
        self.durable = durable
        self.mapper = mapper
        self.reads = reads
        self._read_topics: dict[str, bool] = {}
        self._sub: Any = None

    async def _subscription(self) -> Any:
        if self._sub is None:
            js = await self.jetstream.context()
            deliver = await self._migrate(js)
            self._sub = await js.pull_subscribe(
                SUBJECTS,
                durable=self.durable,
                stream=STREAM,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.ALL,
                    deliver_policy=deliver,
                    max_ack_pending=20_000,
                    ack_wait=30.0,
                ),
            )
        return self._sub

    async def _migrate(self, js: Any) -> DeliverPolicy:
        """How a consumer made before ADR 0015 (one ack per message) is replaced: JetStream
        will not change a durable's ack policy. The new one starts at new messages; what
        it never sees is read from the store by the runner, as any gap is."""
        try:
            info = await js.consumer_info(STREAM, self.durable)
        except NotFoundError:
            return DeliverPolicy.ALL
        if info.config.ack_policy == AckPolicy.ALL:
            return DeliverPolicy.ALL  # unchanged: it keeps its place in the stream
        log.info("replacing consumer to ack once a batch", extra={"consumer": self.durable})
        await js.delete_consumer(STREAM, self.durable)
        return DeliverPolicy.NEW

    async def ack(self, messages: Sequence[FeedMessage]) -> None:
        """One ack for the batch (AckPolicy.ALL): acking the last message delivered acks
        every one delivered before it, as the ack of each did before (ADR 0015)."""
        if messages:
            last = messages[-1]
            assert isinstance(last, JetStreamMessage), "acks only what it fetched"
            await last.msg.ack()

    async def fetch(self, max_items: int, timeout: float) -> list[JetStreamMessage]:
        """Wait up to `timeout` for the first message, then take what else is ready.

        nats-py's `fetch(n)` on an empty consumer holds its pull open until n messages
        came or the timeout passed, so a burst of fewer than n waited the whole timeout.
        """
        sub = await self._subscription()
        try:
            msgs = await sub.fetch(1, timeout=timeout)
        except TimeoutError:  # nats-py's own and asyncio's: nothing arrived in time
            return []
        if max_items > 1:
            with contextlib.suppress(TimeoutError):
                msgs += await sub.fetch(max_items - 1, timeout=GATHER_SECONDS)
        return [self._decode(m) for m in msgs]

    def _decode(self, msg: Any) -> JetStreamMessage:
        headers = msg.headers or {}
        position = int(headers.get(Header.POSITION, 0))
        item: PositionedEvent | None = None  # unreadable: the runner reads it from the store
        with contextlib.suppress(KeyError, ValueError, TopicError):
            topic = headers[Header.TOPIC]
            if not self._reads_topic(topic):
                item = PositionedEvent(position, Unread(topic))
            else:
                stored = StoredEvent(
                    originator_id=UUID(headers[Header.AGGREGATE_ID]),
                    originator_version=int(headers[Header.AGGREGATE_VERSION]),
                    topic=topic,
                    state=msg.data,
                )
                item = PositionedEvent(position, self.mapper.to_domain_event(stored))
        return JetStreamMessage(position, item, msg)

    def _reads_topic(self, topic: str) -> bool:
        known = self._read_topics.get(topic)
        if known is None:
            try:
                known = issubclass(resolve_topic(topic), self.reads)
            except TopicError:
                known = True  # decoding fails the same way, and the store path takes over
            self._read_topics[topic] = known
        return known
