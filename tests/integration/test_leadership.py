"""One active relay / projection per name, however many workers run."""

from __future__ import annotations

import asyncio

from waiting import eventually

from adapters.postgres.leadership import run_as_leader


def test_only_one_process_leads_and_a_standby_takes_over(database_url: str) -> None:
    active: list[str] = []
    history: list[str] = []

    def body(who: str):  # type: ignore[no-untyped-def]
        async def run(leading: asyncio.Event) -> None:
            active.append(who)
            history.append(who)
            await leading.wait()
            active.remove(who)

        return run

    async def scenario() -> None:
        stops = {"a": asyncio.Event(), "b": asyncio.Event()}
        tasks = {
            who: asyncio.create_task(
                run_as_leader(database_url, "relay:test", body(who), stops[who], retry_seconds=0.1)
            )
            for who in stops
        }
        first = (await eventually(lambda: list(active), lambda a: len(a) == 1))[0]
        await asyncio.sleep(0.5)  # the standby keeps trying, and keeps failing
        assert active == [first]
        stops[first].set()
        await tasks[first]
        second = "b" if first == "a" else "a"
        await eventually(lambda: list(active), lambda a: a == [second], timeout=5)
        stops[second].set()
        await tasks[second]

    asyncio.run(scenario())
    assert len(history) == 2
    assert set(history) == {"a", "b"}
