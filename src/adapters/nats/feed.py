"""JetStreamFeed: a durable pull consumer, decoded back into positioned domain events."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.nats.jetstream import JetStream
from adapters.nats.wire import STREAM, SUBJECTS, Header
from projections.positioned import PositionedEvent

GATHER_SECONDS = 0.005  # after the first message: how long the rest of a burst may take


@dataclass(slots=True)
class JetStreamMessage:
    position: int
    item: PositionedEvent | None
    msg: Any

    async def ack(self) -> None:
        await self.msg.ack()


class JetStreamFeed:
    def __init__(self, jetstream: JetStream, durable: str, mapper: Mapper[UUID]) -> None:
        self.jetstream = jetstream
        self.durable = durable
        self.mapper = mapper
        self._sub: Any = None

    async def _subscription(self) -> Any:
        if self._sub is None:
            js = await self.jetstream.context()
            self._sub = await js.pull_subscribe(
                SUBJECTS,
                durable=self.durable,
                stream=STREAM,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    max_ack_pending=20_000,
                    ack_wait=30.0,
                ),
            )
        return self._sub

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
        try:
            stored = StoredEvent(
                originator_id=UUID(headers[Header.AGGREGATE_ID]),
                originator_version=int(headers[Header.AGGREGATE_VERSION]),
                topic=headers[Header.TOPIC],
                state=msg.data,
            )
            item: PositionedEvent | None = PositionedEvent(
                position, self.mapper.to_domain_event(stored)
            )
        except (KeyError, ValueError):
            item = None  # unreadable: the runner reads this position from the store instead
        return JetStreamMessage(position, item, msg)
