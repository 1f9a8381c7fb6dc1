"""What a message's observations establish, merged so that arrival order never matters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from domain.message_status import EARLIER, RANK, MessageStatus, parse_message_status


class ErrorFact(NamedTuple):
    """An error the provider reported, with the status it came with (its strongest one)."""

    status: str
    message: str | None


def _rank(status: str) -> int:
    known = parse_message_status(status)
    return -1 if known is None else RANK[known]


def _text(a: str | None, b: str | None) -> str | None:
    """A description beats none; between two, the smaller, so the order never shows."""
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class MessageFacts:
    """A join-semilattice: merging is commutative, associative and idempotent.

    So the facts after any delivery order, with any duplicates, equal the facts after
    in-order delivery, whatever the status verdicts were. That is why facts are merged
    from every observation, applied or not: a verdict depends on arrival order, and facts
    merged only under some verdicts would depend on it too.

    - `reached`: every status the message is known to have reached or gone past (a `read`
      receipt implies `sent`), so an old status arriving late is no news.
    - `times`: per status, the earliest provider time reported for it (the first moment the
      provider knew; RawDlrDoneDate is minute-precise, REST times are later).
    - `errors`: per error code, the strongest status that reported it and a description.
    """

    reached: frozenset[MessageStatus] = frozenset()
    times: Mapping[MessageStatus, datetime] = field(default_factory=dict)
    errors: Mapping[int, ErrorFact] = field(default_factory=dict)

    def reach(self, status: MessageStatus, at: datetime | None) -> MessageFacts:
        times = dict(self.times)
        known = times.get(status)
        if at is not None and (known is None or at < known):
            times[status] = at
        reached = self.reached | EARLIER[status] | {status}
        return MessageFacts(reached, times, self.errors)

    def with_error(self, code: int, status: str, message: str | None) -> MessageFacts:
        known = self.errors.get(code)
        if known is not None:
            status = max(known.status, status, key=lambda s: (_rank(s), s))
            message = _text(known.message, message)
        return MessageFacts(
            self.reached, self.times, {**self.errors, code: ErrorFact(status, message)}
        )

    @property
    def sent_at(self) -> datetime | None:
        return self.times.get(MessageStatus.SENT)

    @property
    def delivered_at(self) -> datetime | None:
        return self.times.get(MessageStatus.DELIVERED)

    @property
    def read_at(self) -> datetime | None:
        return self.times.get(MessageStatus.READ)

    @property
    def error_code(self) -> int | None:
        return None if self.error is None else self.error[0]

    @property
    def error_message(self) -> str | None:
        return None if self.error is None else self.error[1].message

    @property
    def error(self) -> tuple[int, ErrorFact] | None:
        """The error that explains the outcome: reported with the highest-ranked status;
        between codes reported with equally ranked statuses, the lowest code."""
        if not self.errors:
            return None
        return max(self.errors.items(), key=lambda item: (_rank(item[1].status), -item[0]))
