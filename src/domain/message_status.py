"""The message lifecycle: statuses, channels, the transition table and the observation rule."""

from __future__ import annotations

from enum import StrEnum

from domain.call_status import IgnoreReason
from domain.transitions import closure


class MessageStatus(StrEnum):
    """Twilio's message statuses (REST enum), outbound and inbound.

    Inbound messages (`receiving`, `received`) are modelled too, on a branch of their own
    that no outbound status leads to or from: the REST API reports them, reconcile lists
    them, and the `messages` table (seed 000) holds both directions. A status from the other
    branch is an impossible transition, so an inbound message can never become `delivered`.

    `partially_delivered` is in the REST enum with an undocumented meaning. It is not
    modelled: it arrives as `unknown_status`, kept in history and never applied.
    """

    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    READ = "read"
    CANCELED = "canceled"
    RECEIVING = "receiving"
    RECEIVED = "received"


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    EMAIL = "email"


M = MessageStatus

# The delivery outcome is known: nothing needs polling any more. `delivered` is final yet
# may still become `read` (RCS/WhatsApp receipts); TRANSITIONS says so explicitly.
FINAL: frozenset[MessageStatus] = frozenset(
    {M.DELIVERED, M.UNDELIVERED, M.FAILED, M.READ, M.CANCELED, M.RECEIVED}
)

# Progress order; every allowed move goes strictly up it (a test checks). Equal ranks are
# alternatives that exclude each other. 6 and above: the recipient has the message.
RANK: dict[MessageStatus, int] = {
    M.ACCEPTED: 0,
    M.SCHEDULED: 1,
    M.QUEUED: 2,
    M.SENDING: 3,
    M.CANCELED: 3,
    M.RECEIVING: 3,
    M.SENT: 4,
    M.FAILED: 5,
    M.DELIVERED: 6,
    M.UNDELIVERED: 6,
    M.RECEIVED: 6,
    M.READ: 7,
}

_AFTER_SENT = frozenset({M.DELIVERED, M.UNDELIVERED, M.READ, M.FAILED})
_AFTER_SENDING = _AFTER_SENT | {M.SENT}
_AFTER_QUEUED = _AFTER_SENDING | {M.SENDING, M.CANCELED}

# Allowed moves. Callbacks are lossy (no callback for the initial status, `sending` maybe
# never reported, a lost `delivered` before `read`), so intermediate steps may be skipped.
# `canceled` only before dispatch (accepted, scheduled, queued). `failed` may follow `sent`:
# WhatsApp reports a failure after the hand-off. A final status only ever becomes `read`,
# and only from `delivered`.
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    M.ACCEPTED: _AFTER_QUEUED | {M.SCHEDULED, M.QUEUED},
    M.SCHEDULED: _AFTER_QUEUED | {M.QUEUED},
    M.QUEUED: _AFTER_QUEUED,
    M.SENDING: _AFTER_SENDING,
    M.SENT: _AFTER_SENT,
    M.DELIVERED: frozenset({M.READ}),
    M.UNDELIVERED: frozenset(),
    M.FAILED: frozenset(),
    M.READ: frozenset(),
    M.CANCELED: frozenset(),
    M.RECEIVING: frozenset({M.RECEIVED}),
    M.RECEIVED: frozenset(),
}


# Where a status can lead, and what must have come before it (the path so far).
LATER = closure(TRANSITIONS)
EARLIER: dict[MessageStatus, frozenset[MessageStatus]] = {
    s: frozenset(p for p in MessageStatus if s in LATER[p]) for s in MessageStatus
}


def parse_message_status(value: str) -> MessageStatus | None:
    try:
        return MessageStatus(value)
    except ValueError:
        return None


def parse_channel(value: str | None) -> Channel | None:
    try:
        return None if value is None else Channel(value)
    except ValueError:
        return None


def judge_message_observation(
    current: MessageStatus | None, observed: MessageStatus | None
) -> IgnoreReason | None:
    """Return why an observed status must not be applied, or None when it applies.

    Twilio's messaging callbacks carry no SequenceNumber and no Timestamp; only SMS
    `delivered`/`undelivered` may carry RawDlrDoneDate, the carrier's minute-precision
    "done date". So the status orders observations: every real lifecycle is a path through
    TRANSITIONS and RANK rises along it. Provider times are facts (`domain.message_facts`),
    never a guard: they exist for a few statuses, come from different clocks (carrier DLR,
    REST `date_updated`), and on a real path they can only agree with the table, so a time
    guard could only ever reject a genuine step.

    Stale before after_final: a `sent` arriving after `delivered` is old news on the way
    here, not a conflict. A status that could not have led here and cannot follow is a
    conflict: after_final when the outcome is settled, impossible_transition otherwise.
    """
    if observed is None:
        return IgnoreReason.UNKNOWN_STATUS
    if current is None:
        return None  # the first status we understand opens the lifecycle wherever it is
    if observed == current:
        return IgnoreReason.DUPLICATE
    if observed in TRANSITIONS[current]:
        return None
    if current in LATER[observed]:
        return IgnoreReason.STALE
    if current in FINAL:
        return IgnoreReason.AFTER_FINAL
    return IgnoreReason.IMPOSSIBLE_TRANSITION
