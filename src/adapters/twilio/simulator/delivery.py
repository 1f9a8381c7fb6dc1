"""How a lossy provider delivers callbacks: some twice, some late or out of order, some never.

The plan is drawn from the simulator's seeded random generator, so a seed repeats a run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from adapters.twilio.simulator.lifecycles import Callback


@dataclass(frozen=True)
class Chaos:
    """Shares of callbacks (0..1) that are sent twice, swapped with the next one, sent after
    the call has ended (by up to `delay_seconds` simulated seconds), or never sent."""

    duplicates: float = 0.0
    reorder: float = 0.0
    delays: float = 0.0
    drops: float = 0.0
    delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("duplicates", "reorder", "delays", "drops"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1")


@dataclass(frozen=True)
class Delivery:
    at: float  # real seconds after the scenario's start
    callback: Callback
    duplicate: bool = False


@dataclass
class Plan:
    deliveries: list[Delivery] = field(default_factory=list)
    dropped: list[Callback] = field(default_factory=list)
    reordered: int = 0
    delayed: int = 0


def plan_deliveries(
    callbacks: list[Callback], ends_at: float, chaos: Chaos, rng: random.Random, speed: float
) -> Plan:
    """`callbacks` in firing order; `ends_at`: real seconds when the last leg is over."""
    plan = Plan()
    for i, cb in enumerate(callbacks):
        if rng.random() < chaos.drops:
            plan.dropped.append(cb)
            continue
        at = cb.at
        if rng.random() < chaos.delays:
            at = max(at, ends_at) + rng.uniform(0.1, 1.0) * chaos.delay_seconds / speed
            plan.delayed += 1
        elif i + 1 < len(callbacks) and rng.random() < chaos.reorder:
            at = callbacks[i + 1].at + rng.uniform(0.01, 0.5) / speed  # after its successor
            plan.reordered += 1
        plan.deliveries.append(Delivery(at, cb))
        if rng.random() < chaos.duplicates:
            plan.deliveries.append(Delivery(at + rng.uniform(0.0, 0.5) / speed, cb, True))
    plan.deliveries.sort(key=lambda d: d.at)
    return plan
