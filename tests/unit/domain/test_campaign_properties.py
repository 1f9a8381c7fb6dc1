"""Properties of the Campaign aggregate under random command sequences (a state machine test)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any

from eventsourcing.application import Application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.campaign import Campaign, campaign_id
from domain.campaign_commands import (
    AddContacts,
    Contact,
    CreateCampaign,
    FinishAttempt,
    PauseCampaign,
    RecordAttemptStatus,
    ResumeCampaign,
    ScheduleAttempt,
    StartAttempt,
    StartCampaign,
    StopCampaign,
)
from domain.campaign_errors import CampaignRuleViolation, RuleCode
from domain.campaign_handlers import handle
from domain.campaign_rules import (
    CLOSED,
    TRANSITIONS,
    AttemptResult,
    AttemptStatus,
    CampaignState,
    Limits,
    next_window_opening,
)
from domain.commands import CommandResult

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
KEY = "property-campaign"
CID = campaign_id(PROJECT, KEY)
T0 = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # the Friday before Berlin's spring DST change
CONTACTS = [f"lead-{i}" for i in range(4)]
STATUSES = [*(str(s) for s in AttemptStatus), "answered"]
# Weighted so that most runs get going and a few end early.
LIFECYCLE = [StartCampaign] * 4 + [ResumeCampaign] * 3 + [PauseCampaign] * 2 + [StopCampaign]
WINDOWS = [
    (time(8), time(20), "Europe/Berlin"),
    (time(22), time(6), "UTC"),
    (time(0), time(23, 59), "America/New_York"),
]

limits_strategy = st.builds(
    lambda window, attempts, retry, concurrency: Limits(
        max_attempts_per_contact=attempts,
        retry_interval_seconds=retry,
        window_start=window[0],
        window_end=window[1],
        timezone=window[2],
        max_concurrent_calls=concurrency,
    ),
    st.sampled_from(WINDOWS),
    st.integers(1, 3),
    st.sampled_from([0, 600, 3600]),
    st.integers(1, 3),
)

Outcome = CommandResult | RuleCode


def state(campaign: Campaign | None) -> dict[str, Any]:
    assert campaign is not None
    return {k: v for k, v in vars(campaign).items() if k != "_pending_events"}


class CampaignMachine(RuleBasedStateMachine):
    """Drive one campaign with random commands; an operations dict answers repeats."""

    def __init__(self) -> None:
        super().__init__()
        self.campaign: Campaign | None = None
        self.replica: Campaign | None = None
        self.states: list[CampaignState] = [CampaignState.DRAFT]
        self.events: list[Any] = []
        self.operations: dict[str, Outcome] = {}
        self.sent: list[Any] = []
        self.clock = T0
        self.ops = itertools.count()

    def common(self, **fields: Any) -> dict[str, Any]:
        return {"operation_id": f"op-{next(self.ops)}", "project_id": PROJECT, **fields}

    def on(self, **fields: Any) -> dict[str, Any]:
        return self.common(campaign_id=CID, **fields)

    @property
    def live(self) -> Campaign:
        assert self.campaign is not None
        return self.campaign

    def send(self, command: Any) -> Outcome:
        """What the application does: answer a known operation_id from the table, else handle."""
        known = self.operations.get(command.operation_id)
        if known is not None:
            return known
        version = None if self.campaign is None else self.campaign.version
        try:
            campaign, result = handle(self.campaign, command)
        except CampaignRuleViolation as refused:
            if self.campaign is not None:
                assert self.campaign.version == version
                assert list(self.campaign.collect_events()) == []
            self.operations[command.operation_id] = refused.code
            self.sent.append(command)
            return refused.code
        new = list(campaign.collect_events())
        self.follow(new)
        self.campaign = campaign
        self.events += new
        self.operations[command.operation_id] = result
        self.sent.append(command)
        return result

    def follow(self, new: list[Any]) -> None:
        """Fold each new event into a replica, checking every state change it causes."""
        for event in new:
            before = None if self.replica is None else self.replica.state
            if isinstance(event, Campaign.AttemptScheduled):
                assert before is CampaignState.RUNNING, f"attempt scheduled while {before}"
            self.replica = event.mutate(self.replica)
            assert self.replica is not None
            after = self.replica.state
            if before is not None and after is not before:
                assert after in TRANSITIONS[before], f"{before} -> {after}"
                self.states.append(after)

    @initialize(
        limits=limits_strategy,
        ids=st.lists(st.sampled_from(CONTACTS), max_size=3),
        start=st.sampled_from([True, True, True, False]),
    )
    def create(self, limits: Limits, ids: list[str], start: bool) -> None:
        command = CreateCampaign(**self.common(campaign_key=KEY, name="P", limits=limits))
        assert isinstance(self.send(command), CommandResult)
        if ids:
            self.add_contacts(ids)
        if start:
            self.send(StartCampaign(**self.on()))

    @rule(ids=st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=3))
    def add_contacts(self, ids: list[str]) -> None:
        contacts = [Contact(contact_id=c, phone_number=f"+49151000000{c[-1]}") for c in ids]
        self.send(AddContacts(**self.on(contacts=contacts)))

    @rule(command=st.sampled_from(LIFECYCLE))
    def lifecycle(self, command: type[Any]) -> None:
        before = self.live.state
        outcome = self.send(command(**self.on()))
        if before in CLOSED:
            assert outcome is RuleCode.INVALID_TRANSITION

    @rule(minutes=st.sampled_from([1, 10, 60, 240, 720]))
    def tick(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

    @rule(pick=st.integers(0, 99), snap=st.booleans(), ahead=st.sampled_from([0, 30]))
    def schedule(self, pick: int, snap: bool, ahead: int) -> None:
        known = list(self.live.book.contacts)
        contact = known[pick % len(known)] if known and pick < 90 else "lead-unknown"
        at = self.clock + timedelta(minutes=ahead)
        if snap:  # the earliest time the rules allow, as a dialer would choose
            at = max(at, self.live.book.earliest_retry(contact) or at)
            at = next_window_opening(self.live.limits, at)
        self.send(ScheduleAttempt(**self.on(contact_id=contact, scheduled_at=at)))

    @rule(pick=st.integers(0, 99), result=st.sampled_from(list(AttemptResult)))
    def dial_and_finish(self, pick: int, result: AttemptResult) -> None:
        """A dialer's whole turn: schedule at the earliest allowed time, then settle it."""
        self.schedule(pick, snap=True, ahead=0)
        opened = [a for a in self.live.book.attempts.values() if not a.settled]
        if opened:
            self.clock = max(self.clock, opened[-1].scheduled_at) + timedelta(minutes=1)
            self.finish(100 + len(opened) - 1, result, None)

    def attempt(self, pick: int) -> str:
        """Mostly an attempt still open, sometimes any, rarely one that does not exist."""
        attempts = self.live.book.attempts.values()
        if pick >= 100:  # an exact open attempt, for dial_and_finish
            return [a.attempt_id for a in attempts if not a.settled][pick - 100]
        open_ = [a.attempt_id for a in attempts if not a.settled]
        ids = open_ if open_ and pick < 70 else [a.attempt_id for a in attempts]
        return ids[pick % len(ids)] if ids and pick < 95 else "no-such-attempt"

    @precondition(lambda self: self.campaign is not None and self.campaign.book.attempts)
    @rule(pick=st.integers(0, 99), sid=st.sampled_from(["CA1", "CA2"]))
    def start_attempt(self, pick: int, sid: str) -> None:
        attempt_id = self.attempt(pick)
        outcome = self.send(StartAttempt(**self.on(attempt_id=attempt_id, call_sid=sid)))
        assert isinstance(outcome, CommandResult), "observations are never refused"

    @precondition(lambda self: self.campaign is not None and self.campaign.book.attempts)
    @rule(pick=st.integers(0, 99), status=st.sampled_from(STATUSES), back=st.integers(-2, 2))
    def observe(self, pick: int, status: str, back: int) -> None:
        observed_at = self.clock + timedelta(minutes=back)
        command = RecordAttemptStatus(
            **self.on(attempt_id=self.attempt(pick), status=status, observed_at=observed_at)
        )
        assert isinstance(self.send(command), CommandResult), "observations are never refused"

    @precondition(lambda self: self.campaign is not None and self.campaign.book.attempts)
    @rule(
        pick=st.integers(0, 99),
        result=st.sampled_from(list(AttemptResult)),
        callback=st.none() | st.sampled_from([5, 90]),
    )
    def finish(self, pick: int, result: AttemptResult, callback: int | None) -> None:
        callback_at = None
        if callback is not None and result is AttemptResult.CALLBACK_NEEDED:
            callback_at = self.clock + timedelta(minutes=callback)
        command = FinishAttempt(
            **self.on(
                attempt_id=self.attempt(pick),
                result=result,
                finished_at=self.clock,
                callback_at=callback_at,
            )
        )
        self.send(command)

    @precondition(lambda self: bool(self.sent))
    @rule(pick=st.integers(0, 10_000))
    def resend(self, pick: int) -> None:
        command = self.sent[pick % len(self.sent)]
        first = self.operations[command.operation_id]
        before, version, count = state(self.campaign), self.live.version, len(self.events)

        again = self.send(command)

        assert again == first
        assert (state(self.campaign), self.live.version, len(self.events)) == (
            before,
            version,
            count,
        )
        if isinstance(command, CreateCampaign):  # the aggregate itself also knows its creator
            _, direct = handle(self.campaign, command)
            assert direct == first
            assert list(self.live.collect_events()) == []

    @invariant()
    def attempts_per_contact_never_exceed_the_maximum(self) -> None:
        if self.campaign is None:
            return
        most = self.campaign.limits.max_attempts_per_contact
        assert all(len(ids) <= most for ids in self.campaign.book.by_contact.values())
        scheduled = [e.contact_id for e in self.events if isinstance(e, Campaign.AttemptScheduled)]
        assert all(scheduled.count(c) <= most for c in set(scheduled))

    @invariant()
    def calls_in_flight_never_exceed_the_concurrency_limit(self) -> None:
        if self.campaign is not None:
            assert len(self.campaign.book.active) <= self.campaign.limits.max_concurrent_calls

    @invariant()
    def a_campaign_with_nothing_left_to_do_is_completed(self) -> None:
        if self.campaign is None:
            return
        open_states = (CampaignState.RUNNING, CampaignState.PAUSED)
        assert not (self.campaign.state in open_states and self.campaign.book.all_done)

    @invariant()
    def closed_campaigns_stay_closed(self) -> None:
        for i, reached in enumerate(self.states):
            if reached in CLOSED:
                assert self.states[i + 1 :] == []

    @invariant()
    def replaying_the_events_rebuilds_the_same_campaign(self) -> None:
        if self.campaign is None:
            return
        rebuilt = None
        for event in self.events:
            rebuilt = event.mutate(rebuilt)
        assert state(rebuilt) == state(self.campaign)

    def teardown(self) -> None:
        if self.campaign is None:
            return
        mapper: Any = Application().mapper
        rebuilt: Any = None
        for event in self.events:
            copy = mapper.to_domain_event(mapper.to_stored_event(event))
            assert copy == event
            rebuilt = copy.mutate(rebuilt)
        assert state(rebuilt) == state(self.campaign)


CampaignMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCampaignProperties = CampaignMachine.TestCase
