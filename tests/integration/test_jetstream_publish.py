"""JetStream.publish_all on real NATS: pipelined publishes are all stored, in order, once;
a batch JetStream does not store raises instead of passing as published."""

from __future__ import annotations

import asyncio

import pytest

from adapters.nats.jetstream import JetStream, PublishFailed
from adapters.nats.wire import STREAM, Header


def test_a_batch_is_stored_in_order_and_a_repeat_is_not_stored_twice(nats_url: str) -> None:
    async def scenario() -> None:
        jetstream = JetStream(nats_url, "test-publish")
        try:
            batch = [
                (f"sb.p1.call.e{i % 3}", f"event {i}".encode(), {Header.MSG_ID: str(i)})
                for i in range(1, 301)
            ]
            await jetstream.publish_all(batch)
            await jetstream.publish_all(batch[100:])  # a relay retrying after a crash
            js = await jetstream.context()
            info = await js.stream_info(STREAM)
            assert info.state.messages == 300
            first, last = await js.get_msg(STREAM, 1), await js.get_msg(STREAM, 300)
            assert (first.data, last.data) == (b"event 1", b"event 300")
        finally:
            await jetstream.close()

    asyncio.run(scenario())


def test_a_message_no_stream_takes_fails_the_batch(nats_url: str) -> None:
    async def scenario() -> None:
        jetstream = JetStream(nats_url, "test-publish")
        try:
            good = ("sb.p1.call.created", b"{}", {Header.MSG_ID: "1"})
            stray = ("elsewhere.call", b"{}", {Header.MSG_ID: "2"})
            with pytest.raises(PublishFailed):
                await jetstream.publish_all([good, stray], timeout=5.0)
            await jetstream.publish_all([good])  # the connection is still good for the next
        finally:
            await jetstream.close()

    asyncio.run(scenario())
