"""What any transition table implies: where each state can lead, directly or not."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

S = TypeVar("S", bound=Hashable)


def closure(table: Mapping[S, frozenset[S]]) -> dict[S, frozenset[S]]:
    """Every state reachable from each state in one or more allowed moves."""
    reach = {s: set(nxt) for s, nxt in table.items()}
    changed = True
    while changed:
        changed = False
        for targets in reach.values():
            more = set().union(*(reach[t] for t in targets)) - targets
            if more:
                targets |= more
                changed = True
    return {s: frozenset(t) for s, t in reach.items()}
