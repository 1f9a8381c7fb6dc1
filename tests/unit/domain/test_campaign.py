"""The Campaign aggregate: given earlier events, when a command arrives, then these events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
import pytest
from eventsourcing.application import Application

from domain.campaign import Campaign, attempt_id, campaign_id
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
from domain.campaign_errors import (
    CampaignConflict,
    CampaignNotFound,
    CampaignRuleViolation,
    InvalidCampaignCommand,
    RuleCode,
)
from domain.campaign_handlers import HANDLERS, handle
from domain.campaign_rules import AttemptResult, AttemptStatus, CampaignState, Limits
from domain.commands import CommandResult, Outcome, Source

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
OTHER_PROJECT = "0e2a7c55-3b8d-4f61-a1c4-9d2e8b7f6a30"
KEY = "spring-promo"
CID = campaign_id(PROJECT, KEY)
TRACE = "0af7651916cd43dd8448eb211c80319c"
LIMITS = Limits(
    max_attempts_per_contact=2,
    retry_interval_seconds=3600,
    window_start=time(9),
    window_end=time(18),
    timezone="Europe/Berlin",
    max_concurrent_calls=2,
)
T0 = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, a Tuesday
ANNA, BORIS, CLARA = "lead-anna", "lead-boris", "lead-clara"
PHONES = {ANNA: "+4915112345671", BORIS: "+4915112345672", CLARA: "+4915112345673"}

_ops = itertools.count()


def op() -> dict[str, Any]:
    return {"operation_id": f"op-{next(_ops)}", "project_id": PROJECT, "trace_id": TRACE}


def on(**fields: Any) -> dict[str, Any]:
    return {**op(), "campaign_id": CID, **fields}


def create(limits: Limits = LIMITS, **fields: Any) -> CreateCampaign:
    return CreateCampaign(
        **{**op(), "campaign_key": KEY, "name": "Spring", "limits": limits, **fields}
    )


def add(*contact_ids: str) -> AddContacts:
    contacts = [Contact(contact_id=c, phone_number=PHONES[c]) for c in contact_ids]
    return AddContacts(**on(contacts=contacts))


def schedule(contact: str, at: datetime = T0) -> ScheduleAttempt:
    return ScheduleAttempt(**on(contact_id=contact, scheduled_at=at))


def attempt(contact: str, number: int = 1) -> str:
    return attempt_id(CID, contact, number)


def observe(contact: str, status: str, number: int = 1, **fields: Any) -> RecordAttemptStatus:
    return RecordAttemptStatus(**on(attempt_id=attempt(contact, number), status=status, **fields))


def finish(
    contact: str, result: str, at: datetime = T0, number: int = 1, **fields: Any
) -> FinishAttempt:
    return FinishAttempt(
        **on(attempt_id=attempt(contact, number), result=result, finished_at=at, **fields)
    )


def given(*commands: Any) -> Campaign:
    """Run the commands, then rebuild the campaign from nothing but their events."""
    campaign: Campaign | None = None
    events: list[Any] = []
    for command in commands:
        campaign, _ = handle(campaign, command)
        events += campaign.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, Campaign)
    return rebuilt


def running(*contacts: str) -> tuple[Any, ...]:
    return (create(), add(*contacts), StartCampaign(**on()))


def when(campaign: Campaign | None, command: Any) -> tuple[Campaign, CommandResult, list[Any]]:
    campaign, result = handle(campaign, command)
    return campaign, result, list(campaign.collect_events())


def rejected(campaign: Campaign | None, command: Any) -> CampaignRuleViolation:
    version = None if campaign is None else campaign.version
    with pytest.raises(CampaignRuleViolation) as refused:
        handle(campaign, command)
    if campaign is not None:
        assert campaign.version == version
        assert list(campaign.collect_events()) == []
    return refused.value


def kinds(events: list[Any]) -> list[type[Any]]:
    return [type(e) for e in events]


def state(campaign: Campaign) -> dict[str, Any]:
    return {k: v for k, v in vars(campaign).items() if k != "_pending_events"}


# Creating


def test_create_opens_a_draft_campaign_with_its_limits_as_plain_data() -> None:
    command = create()

    campaign, result, events = when(None, command)

    assert kinds(events) == [Campaign.Created]
    (created,) = events
    assert created.project_id == PROJECT
    assert created.campaign_key == KEY
    assert created.operation_id == command.operation_id
    assert created.trace_id == TRACE
    assert created.limits == LIMITS.to_data()
    assert campaign.id == CID
    assert campaign.state is CampaignState.DRAFT
    assert campaign.limits == LIMITS
    assert result == CommandResult(
        operation_id=command.operation_id, outcome=Outcome.APPLIED, aggregate_id=str(CID)
    )


def test_campaign_id_is_stable_so_existing_streams_stay_reachable() -> None:
    assert campaign_id(PROJECT, KEY) == UUID("832cd118-19e6-5b59-833e-1c2b03142de5")
    assert campaign_id(OTHER_PROJECT, KEY) != CID


def test_repeated_create_with_the_same_operation_records_nothing_and_reports_the_first_result() -> (
    None
):
    command = create()
    campaign, first, _ = when(None, command)

    again, result, events = when(campaign, command)

    assert events == []
    assert result == first
    assert again is campaign


def test_create_with_a_used_key_under_another_operation_is_rejected_as_campaign_exists() -> None:
    campaign = given(create())

    error = rejected(campaign, create())

    assert isinstance(error, CampaignConflict)
    assert error.code is RuleCode.CAMPAIGN_EXISTS
    assert error.details["campaign_id"] == str(CID)


@pytest.mark.parametrize("fields", [{"campaign_key": ""}, {"name": ""}, {"name": "x" * 201}])
def test_an_empty_key_or_a_missing_or_overlong_name_is_rejected(fields: dict[str, str]) -> None:
    error = rejected(None, create(**fields))

    assert isinstance(error, InvalidCampaignCommand)
    assert error.code is RuleCode.INVALID_CAMPAIGN


# Contacts


def test_added_contacts_are_recorded_in_one_event() -> None:
    campaign = given(create())

    campaign, result, events = when(campaign, add(ANNA, BORIS))

    assert kinds(events) == [Campaign.ContactsAdded]
    assert events[0].contacts == [
        {"contact_id": ANNA, "phone_number": PHONES[ANNA]},
        {"contact_id": BORIS, "phone_number": PHONES[BORIS]},
    ]
    assert result.outcome is Outcome.APPLIED
    assert set(campaign.book.contacts) == {ANNA, BORIS}


def test_contacts_already_in_the_campaign_are_skipped() -> None:
    campaign = given(create(), add(ANNA))

    _, _, events = when(campaign, add(ANNA, BORIS))

    assert [c["contact_id"] for c in events[0].contacts] == [BORIS]


def test_a_batch_of_known_contacts_only_is_ignored_without_an_event() -> None:
    campaign = given(create(), add(ANNA))

    _, result, events = when(campaign, add(ANNA))

    assert events == []
    assert result.outcome is Outcome.IGNORED
    assert result.reason == "no_new_contacts"


def test_a_known_contact_with_another_phone_number_is_rejected_as_a_conflict() -> None:
    campaign = given(create(), add(ANNA))
    changed = AddContacts(**on(contacts=[Contact(contact_id=ANNA, phone_number="+4930123456")]))

    error = rejected(campaign, changed)

    assert error.code is RuleCode.CONTACT_CONFLICT
    assert "+4930123456" not in str(error)


def test_a_malformed_phone_number_is_rejected_without_echoing_the_number() -> None:
    campaign = given(create())
    bad = AddContacts(**on(contacts=[Contact(contact_id=ANNA, phone_number="0151-1234567")]))

    error = rejected(campaign, bad)

    assert isinstance(error, InvalidCampaignCommand)
    assert error.code is RuleCode.INVALID_CONTACTS
    assert "0151" not in str(error)
    assert error.details == {"contact_id": ANNA}


@pytest.mark.parametrize("size", [0, 1001])
def test_an_empty_or_oversized_batch_is_rejected(size: int) -> None:
    campaign = given(create())
    contacts = [Contact(contact_id=f"c{i}", phone_number=f"+49151{i:08d}") for i in range(size)]

    error = rejected(campaign, AddContacts(**on(contacts=contacts)))

    assert error.code is RuleCode.INVALID_CONTACTS


def test_adding_contacts_to_a_stopped_campaign_is_rejected() -> None:
    campaign = given(*running(ANNA), StopCampaign(**on()))

    assert rejected(campaign, add(BORIS)).code is RuleCode.CAMPAIGN_CLOSED


def test_adding_contacts_to_a_completed_campaign_is_rejected() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), finish(ANNA, "success"))
    assert campaign.state is CampaignState.COMPLETED

    assert rejected(campaign, add(BORIS)).code is RuleCode.CAMPAIGN_CLOSED


def test_contacts_may_be_added_while_running() -> None:
    campaign = given(*running(ANNA))

    _, _, events = when(campaign, add(BORIS))

    assert kinds(events) == [Campaign.ContactsAdded]


# Lifecycle


def test_start_moves_a_draft_with_contacts_to_running() -> None:
    campaign = given(create(), add(ANNA))

    campaign, _, events = when(campaign, StartCampaign(**on()))

    assert kinds(events) == [Campaign.Started]
    assert campaign.state is CampaignState.RUNNING


def test_starting_without_contacts_is_rejected() -> None:
    assert rejected(given(create()), StartCampaign(**on())).code is RuleCode.NO_CONTACTS


def test_pause_then_resume_returns_to_running() -> None:
    campaign = given(*running(ANNA))

    campaign, _, paused = when(campaign, PauseCampaign(**on()))
    assert campaign.state is CampaignState.PAUSED
    campaign, _, resumed = when(campaign, ResumeCampaign(**on()))

    assert kinds(paused + resumed) == [Campaign.Paused, Campaign.Resumed]
    assert campaign.state is CampaignState.RUNNING


@pytest.mark.parametrize("before", [(), (StartCampaign,), (StartCampaign, PauseCampaign)], ids=str)
def test_stop_ends_a_draft_running_or_paused_campaign(before: tuple[type[Any], ...]) -> None:
    campaign = given(create(), add(ANNA), *(c(**on()) for c in before))

    campaign, _, events = when(campaign, StopCampaign(**on()))

    assert kinds(events) == [Campaign.Stopped]
    assert campaign.state is CampaignState.STOPPED


@pytest.mark.parametrize(
    "command", [StartCampaign, ResumeCampaign, PauseCampaign, StopCampaign], ids=str
)
def test_a_stopped_campaign_never_moves_again(command: type[Any]) -> None:
    campaign = given(*running(ANNA), StopCampaign(**on()))

    error = rejected(campaign, command(**on()))

    assert error.code is RuleCode.INVALID_TRANSITION
    assert error.details["state"] == "stopped"


def test_start_does_not_resume_a_paused_campaign() -> None:
    campaign = given(*running(ANNA), PauseCampaign(**on()))

    assert rejected(campaign, StartCampaign(**on())).code is RuleCode.INVALID_TRANSITION


def test_pausing_a_draft_is_rejected() -> None:
    assert rejected(given(create()), PauseCampaign(**on())).code is RuleCode.INVALID_TRANSITION


def test_a_command_for_a_missing_campaign_is_not_found() -> None:
    error = rejected(None, StartCampaign(**on()))

    assert isinstance(error, CampaignNotFound)
    assert error.code is RuleCode.CAMPAIGN_NOT_FOUND


def test_a_command_from_another_project_does_not_find_the_campaign() -> None:
    campaign = given(create(), add(ANNA))
    foreign = StartCampaign(**{**on(), "project_id": OTHER_PROJECT})

    assert rejected(campaign, foreign).code is RuleCode.CAMPAIGN_NOT_FOUND


# Scheduling


def test_scheduling_records_the_attempt_with_its_number_and_deterministic_id() -> None:
    campaign = given(*running(ANNA))

    campaign, _, events = when(campaign, schedule(ANNA))

    assert kinds(events) == [Campaign.AttemptScheduled]
    (scheduled,) = events
    assert scheduled.attempt_id == attempt(ANNA) == attempt_id(CID, ANNA, 1)
    assert scheduled.attempt_number == 1
    assert scheduled.contact_id == ANNA
    assert scheduled.scheduled_at == T0
    assert campaign.book.attempts[attempt(ANNA)].status is AttemptStatus.INIT


def test_scheduled_at_is_stored_in_utc_whatever_offset_it_came_with() -> None:
    campaign = given(*running(ANNA))
    local = T0.astimezone(ZoneInfo("Asia/Tokyo"))

    _, _, events = when(campaign, schedule(ANNA, local))

    assert events[0].scheduled_at == T0
    assert events[0].scheduled_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("pause", [PauseCampaign, StopCampaign], ids=str)
def test_no_attempt_is_scheduled_while_paused_or_stopped(pause: type[Any]) -> None:
    campaign = given(*running(ANNA), pause(**on()))

    assert rejected(campaign, schedule(ANNA)).code is RuleCode.CAMPAIGN_NOT_RUNNING


def test_no_attempt_is_scheduled_in_a_draft() -> None:
    campaign = given(create(), add(ANNA))

    assert rejected(campaign, schedule(ANNA)).code is RuleCode.CAMPAIGN_NOT_RUNNING


def test_an_attempt_outside_the_working_window_is_rejected_with_the_next_opening() -> None:
    campaign = given(*running(ANNA))
    evening = T0.replace(hour=18)  # 19:00 in Berlin

    error = rejected(campaign, schedule(ANNA, evening))

    assert isinstance(error, InvalidCampaignCommand)
    assert error.code is RuleCode.OUTSIDE_WORKING_WINDOW
    assert error.details["next_opening"] == "2026-02-11T08:00:00+00:00"


def test_a_naive_scheduled_at_is_rejected() -> None:
    campaign = given(*running(ANNA))

    error = rejected(campaign, schedule(ANNA, T0.replace(tzinfo=None)))

    assert error.code is RuleCode.NAIVE_DATETIME


def test_scheduling_an_unknown_contact_is_not_found() -> None:
    assert rejected(given(*running(ANNA)), schedule(BORIS)).code is RuleCode.UNKNOWN_CONTACT


def test_no_second_attempt_while_the_first_is_open() -> None:
    campaign = given(*running(ANNA), schedule(ANNA))

    assert rejected(campaign, schedule(ANNA)).code is RuleCode.ATTEMPT_OPEN


def test_no_attempt_beyond_the_maximum_per_contact() -> None:
    later = T0 + timedelta(hours=2)
    campaign = given(
        *running(ANNA, BORIS),
        schedule(ANNA),
        finish(ANNA, "no-answer"),
        schedule(ANNA, later),
        finish(ANNA, "busy", later, number=2),
    )

    assert rejected(campaign, schedule(ANNA, later + timedelta(hours=2))).code is (
        RuleCode.MAX_ATTEMPTS_REACHED
    )


def test_no_attempt_above_the_concurrency_limit() -> None:
    campaign = given(*running(ANNA, BORIS, CLARA), schedule(ANNA), schedule(BORIS))

    assert rejected(campaign, schedule(CLARA)).code is RuleCode.CONCURRENCY_LIMIT


def test_a_call_that_reached_a_final_status_frees_its_concurrency_slot() -> None:
    campaign = given(
        *running(ANNA, BORIS, CLARA), schedule(ANNA), schedule(BORIS), observe(ANNA, "failed")
    )

    _, _, events = when(campaign, schedule(CLARA))

    assert kinds(events) == [Campaign.AttemptScheduled]


def test_a_retry_before_the_retry_interval_is_rejected_and_accepted_after_it() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), finish(ANNA, "no-answer"))

    error = rejected(campaign, schedule(ANNA, T0 + timedelta(minutes=59)))
    campaign, _, events = when(campaign, schedule(ANNA, T0 + timedelta(hours=1)))

    assert error.code is RuleCode.BEFORE_RETRY_TIME
    assert error.details["earliest"] == "2026-02-10T10:00:00+00:00"
    assert events[0].attempt_number == 2


def test_a_callback_is_dialled_no_earlier_than_the_requested_time() -> None:
    requested = T0 + timedelta(minutes=15)
    campaign = given(
        *running(ANNA), schedule(ANNA), finish(ANNA, "callback-needed", callback_at=requested)
    )

    assert rejected(campaign, schedule(ANNA, requested - timedelta(seconds=1))).code is (
        RuleCode.BEFORE_RETRY_TIME
    )
    _, _, events = when(campaign, schedule(ANNA, requested))
    assert kinds(events) == [Campaign.AttemptScheduled]


def test_a_contact_that_succeeded_is_not_dialled_again() -> None:
    campaign = given(*running(ANNA, BORIS), schedule(ANNA), finish(ANNA, "success"))

    assert rejected(campaign, schedule(ANNA, T0 + timedelta(hours=2))).code is (
        RuleCode.CONTACT_SUCCEEDED
    )


def test_an_attempt_canceled_before_dialing_frees_the_contact_at_once() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), observe(ANNA, "canceled"))

    _, _, events = when(campaign, schedule(ANNA))

    assert events[0].attempt_number == 2


# Provider observations


def test_start_attempt_links_the_attempt_to_its_call() -> None:
    campaign = given(*running(ANNA), schedule(ANNA))
    command = StartAttempt(**on(attempt_id=attempt(ANNA), call_sid="CA" + "a" * 32))

    campaign, result, events = when(campaign, command)

    assert kinds(events) == [Campaign.AttemptStarted]
    assert events[0].call_sid == "CA" + "a" * 32
    assert events[0].source == "api"
    assert result.outcome is Outcome.APPLIED
    assert campaign.book.attempts[attempt(ANNA)].call_sid == "CA" + "a" * 32


@pytest.mark.parametrize(("sid", "reason"), [("a", "duplicate"), ("b", "conflicting_call_sid")])
def test_a_second_link_for_an_attempt_is_kept_but_not_applied(sid: str, reason: str) -> None:
    first = StartAttempt(**on(attempt_id=attempt(ANNA), call_sid="CA" + "a" * 32))
    campaign = given(*running(ANNA), schedule(ANNA), first)
    again = StartAttempt(**on(attempt_id=attempt(ANNA), call_sid="CA" + sid * 32))

    campaign, result, events = when(campaign, again)

    assert kinds(events) == [Campaign.AttemptObservationIgnored]
    assert events[0].reason == reason
    assert result.outcome is Outcome.IGNORED
    assert campaign.book.attempts[attempt(ANNA)].call_sid == "CA" + "a" * 32


def test_status_observations_move_the_attempt_forward() -> None:
    campaign = given(*running(ANNA), schedule(ANNA))

    campaign, _, ringing = when(campaign, observe(ANNA, "ringing", observed_at=T0))
    campaign, _, answered = when(campaign, observe(ANNA, "in-progress", source=Source.RECONCILE))

    assert kinds(ringing + answered) == [Campaign.AttemptStatusChanged] * 2
    assert answered[0].source == "reconcile"
    assert campaign.book.attempts[attempt(ANNA)].status is AttemptStatus.IN_PROGRESS


def test_a_late_ringing_after_the_answer_is_recorded_as_stale_and_changes_nothing() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), observe(ANNA, "in-progress"))

    campaign, result, events = when(campaign, observe(ANNA, "ringing"))

    assert kinds(events) == [Campaign.AttemptObservationIgnored]
    assert (events[0].observed, events[0].reason) == ("ringing", "stale")
    assert result == CommandResult(
        operation_id=result.operation_id,
        outcome=Outcome.IGNORED,
        reason="stale",
        aggregate_id=str(CID),
    )
    assert campaign.book.attempts[attempt(ANNA)].status is AttemptStatus.IN_PROGRESS


def test_an_older_observation_time_is_stale_even_for_a_forward_status() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), observe(ANNA, "ringing", observed_at=T0))

    _, result, _ = when(campaign, observe(ANNA, "in-progress", observed_at=T0 - timedelta(1)))

    assert result.reason == "stale"


def test_news_after_a_final_status_is_recorded_as_after_final() -> None:
    campaign = given(*running(ANNA, BORIS), schedule(ANNA), finish(ANNA, "busy"))

    _, result, _ = when(campaign, observe(ANNA, "in-progress"))

    assert result.reason == "after_final"


def test_an_unknown_status_is_recorded_but_not_applied() -> None:
    campaign = given(*running(ANNA), schedule(ANNA))

    campaign, result, events = when(campaign, observe(ANNA, "answered"))

    assert (events[0].observed, result.reason) == ("answered", "unknown_status")
    assert campaign.book.attempts[attempt(ANNA)].status is AttemptStatus.INIT


def test_news_about_an_unknown_attempt_is_recorded_as_unknown_attempt() -> None:
    campaign = given(*running(ANNA))

    _, result, events = when(campaign, observe(ANNA, "ringing", number=7))

    assert kinds(events) == [Campaign.AttemptObservationIgnored]
    assert result.reason == "unknown_attempt"


def test_calls_in_flight_are_still_recorded_after_the_campaign_stopped() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), StopCampaign(**on()))

    campaign, _, seen = when(campaign, observe(ANNA, "in-progress"))
    campaign, _, done = when(campaign, finish(ANNA, "success"))

    assert kinds(seen + done) == [Campaign.AttemptStatusChanged, Campaign.AttemptFinished]
    assert campaign.state is CampaignState.STOPPED


# Finishing and completion


@pytest.mark.parametrize(
    ("observed", "result", "status"),
    [(["ringing"], "no-answer", "failed"), (["in-progress"], "success", "completed")],
)
def test_finishing_settles_the_attempt_in_the_matching_final_status(
    observed: list[str], result: str, status: str
) -> None:
    campaign = given(*running(ANNA, BORIS), schedule(ANNA), *(observe(ANNA, s) for s in observed))

    campaign, _, events = when(campaign, finish(ANNA, result))

    assert kinds(events) == [Campaign.AttemptFinished]
    assert (events[0].result, events[0].status) == (result, status)
    settled = campaign.book.attempts[attempt(ANNA)]
    assert (settled.result, settled.status) == (AttemptResult(result), AttemptStatus(status))


def test_finishing_an_attempt_twice_is_rejected() -> None:
    campaign = given(*running(ANNA, BORIS), schedule(ANNA), finish(ANNA, "busy"))

    assert rejected(campaign, finish(ANNA, "success")).code is RuleCode.ATTEMPT_ALREADY_FINISHED


def test_a_failed_call_cannot_be_finished_as_a_success() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), observe(ANNA, "failed"))

    assert rejected(campaign, finish(ANNA, "success")).code is RuleCode.RESULT_CONTRADICTS_STATUS


def test_callback_at_with_another_result_is_rejected() -> None:
    campaign = given(*running(ANNA), schedule(ANNA))

    error = rejected(campaign, finish(ANNA, "busy", callback_at=T0 + timedelta(hours=1)))

    assert error.code is RuleCode.INVALID_CALLBACK


def test_finishing_an_unknown_attempt_is_not_found() -> None:
    assert rejected(given(*running(ANNA)), finish(ANNA, "busy")).code is RuleCode.UNKNOWN_ATTEMPT


def test_the_campaign_completes_when_every_contact_succeeded_or_used_every_attempt() -> None:
    later = T0 + timedelta(hours=1)
    campaign = given(
        *running(ANNA, BORIS),
        schedule(ANNA),
        schedule(BORIS),
        finish(ANNA, "success"),
        finish(BORIS, "no-answer"),
        schedule(BORIS, later),
    )

    campaign, _, events = when(campaign, finish(BORIS, "busy", later, number=2))

    assert kinds(events) == [Campaign.AttemptFinished, Campaign.Completed]
    assert (events[1].contacts_succeeded, events[1].contacts_exhausted) == (1, 1)
    assert campaign.state is CampaignState.COMPLETED


def test_an_exhausted_contact_with_its_last_call_still_open_keeps_the_campaign_running() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), finish(ANNA, "busy"))

    campaign, _, events = when(campaign, schedule(ANNA, T0 + timedelta(hours=1)))

    assert kinds(events) == [Campaign.AttemptScheduled]
    assert campaign.state is CampaignState.RUNNING


def test_a_paused_campaign_completes_when_its_last_call_finishes() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), PauseCampaign(**on()))

    campaign, _, events = when(campaign, finish(ANNA, "success"))

    assert kinds(events) == [Campaign.AttemptFinished, Campaign.Completed]
    assert campaign.state is CampaignState.COMPLETED


def test_a_stopped_campaign_does_not_complete() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), StopCampaign(**on()))

    campaign, _, events = when(campaign, finish(ANNA, "success"))

    assert kinds(events) == [Campaign.AttemptFinished]


def test_a_completed_campaign_never_restarts() -> None:
    campaign = given(*running(ANNA), schedule(ANNA), finish(ANNA, "success"))

    for command in (StartCampaign, ResumeCampaign, PauseCampaign, StopCampaign):
        assert rejected(campaign, command(**on())).code is RuleCode.INVALID_TRANSITION


# Storage and schemas


def history() -> tuple[Campaign, list[Any]]:
    commands = [
        *running(ANNA, BORIS),
        schedule(ANNA),
        StartAttempt(**on(attempt_id=attempt(ANNA), call_sid="CA" + "e" * 32, observed_at=T0)),
        observe(ANNA, "ringing", observed_at=T0),
        observe(ANNA, "init"),
        finish(ANNA, "callback-needed", callback_at=T0 + timedelta(minutes=5)),
        PauseCampaign(**on()),
        ResumeCampaign(**on()),
        schedule(BORIS),
        finish(BORIS, "success"),
        schedule(ANNA, T0 + timedelta(minutes=5)),
        finish(ANNA, "no-answer", T0 + timedelta(minutes=6), number=2),
    ]
    campaign: Campaign | None = None
    events: list[Any] = []
    for command in commands:
        campaign, _, new = when(campaign, command)
        events += new
    assert campaign is not None
    return campaign, events


EVENT_CLASSES = [
    Campaign.Created,
    Campaign.ContactsAdded,
    Campaign.Started,
    Campaign.Paused,
    Campaign.Resumed,
    Campaign.Stopped,
    Campaign.Completed,
    Campaign.AttemptScheduled,
    Campaign.AttemptStarted,
    Campaign.AttemptStatusChanged,
    Campaign.AttemptObservationIgnored,
    Campaign.AttemptFinished,
]


def test_rebuilding_from_its_events_yields_the_same_campaign() -> None:
    campaign, events = history()

    rebuilt: Any = None
    for event in events:
        rebuilt = event.mutate(rebuilt)

    assert isinstance(rebuilt, Campaign)
    assert state(rebuilt) == state(campaign)
    assert rebuilt.state is CampaignState.COMPLETED


def test_every_event_round_trips_through_the_stored_event_mapper() -> None:
    mapper: Any = Application().mapper
    _, events = history()
    _, _, stopped = when(given(*running(ANNA)), StopCampaign(**on()))
    every = events + stopped
    assert {type(e) for e in every} == set(EVENT_CLASSES)

    for event in every:
        assert mapper.to_domain_event(mapper.to_stored_event(event)) == event


def test_campaign_rebuilt_from_stored_events_matches_the_original() -> None:
    mapper: Any = Application().mapper
    campaign, events = history()

    rebuilt: Any = None
    for event in events:
        rebuilt = mapper.to_domain_event(mapper.to_stored_event(event)).mutate(rebuilt)

    assert state(rebuilt) == state(campaign)
    assert rebuilt.limits == LIMITS


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_event_class_has_a_documented_json_schema(event_class: type[Any]) -> None:
    schema = msgspec.json.schema(event_class)

    definition = schema["$defs"][event_class.__name__]
    assert definition["description"]
    own = set(definition["properties"]) - {"originator_id", "originator_version", "timestamp"}
    own -= {"originator_topic"}
    assert all("description" in definition["properties"][field] for field in own)


def test_the_nested_event_classes_are_exactly_the_documented_events() -> None:
    nested = {
        v
        for k, v in vars(Campaign).items()
        if isinstance(v, type) and issubclass(v, Campaign.Event) and k != "Event"
    }

    assert nested == set(EVENT_CLASSES)


def test_every_command_has_a_handler() -> None:
    assert set(HANDLERS) == {
        CreateCampaign,
        AddContacts,
        StartCampaign,
        PauseCampaign,
        ResumeCampaign,
        StopCampaign,
        ScheduleAttempt,
        StartAttempt,
        RecordAttemptStatus,
        FinishAttempt,
    }
