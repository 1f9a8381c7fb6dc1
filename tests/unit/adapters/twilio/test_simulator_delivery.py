"""The simulator's lossy network: every callback is dropped or delivered, duplicates only
repeat delivered ones, delays land after the call ended, and no chaos means in order."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from adapters.twilio.simulator.delivery import Chaos, plan_deliveries
from adapters.twilio.simulator.lifecycles import script_scenario

shares = st.floats(0.0, 1.0)


@given(
    seed=st.integers(0, 10_000),
    chaos=st.builds(Chaos, duplicates=shares, reorder=shares, delays=shares, drops=shares),
)
def test_each_callback_is_dropped_or_delivered_and_only_delivered_ones_repeat(
    seed: int, chaos: Chaos
) -> None:
    rng = random.Random(seed)
    legs = script_scenario(rng, "AC" + "1" * 32, datetime.now(UTC), speed=10)
    callbacks = sorted((cb for leg in legs for cb in leg.callbacks), key=lambda c: c.at)
    ends_at = max(leg.callbacks[-1].at for leg in legs)
    plan = plan_deliveries(callbacks, ends_at, chaos, rng, speed=10)
    firsts = [d for d in plan.deliveries if not d.duplicate]
    assert len(firsts) + len(plan.dropped) == len(callbacks)
    delivered = {id(d.callback) for d in firsts}
    assert {id(c) for c in plan.dropped}.isdisjoint(delivered)
    assert all(id(d.callback) in delivered for d in plan.deliveries if d.duplicate)
    assert [d.at for d in plan.deliveries] == sorted(d.at for d in plan.deliveries)
    assert plan.delayed <= len(firsts)


def test_delayed_callbacks_arrive_after_the_call_ended() -> None:
    rng = random.Random(1)
    legs = script_scenario(rng, "AC" + "1" * 32, datetime.now(UTC))
    callbacks = legs[0].callbacks
    ends_at = callbacks[-1].at
    plan = plan_deliveries(callbacks, ends_at, Chaos(delays=1.0), rng, speed=1)
    assert plan.delayed == len(callbacks)
    assert all(d.at > ends_at for d in plan.deliveries)


def test_without_chaos_every_callback_arrives_once_in_firing_order() -> None:
    rng = random.Random(2)
    callbacks = script_scenario(rng, "AC" + "1" * 32, datetime.now(UTC))[0].callbacks
    plan = plan_deliveries(callbacks, callbacks[-1].at, Chaos(), rng, speed=1)
    assert [d.callback for d in plan.deliveries] == callbacks
    assert plan.dropped == []
