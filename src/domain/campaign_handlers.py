"""Campaign command handlers: each decides, records events and returns (Campaign, CommandResult)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.campaign import Campaign, attempt_id, campaign_id
from domain.campaign_commands import (
    AddContacts,
    CampaignCommand,
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
    InvalidCampaignCommand,
    RuleCode,
)
from domain.campaign_rules import (
    CLOSED,
    LIFECYCLE,
    TRANSITIONS,
    AttemptIgnoreReason,
    AttemptResult,
    CampaignState,
    Lifecycle,
    as_utc,
    judge_attempt_observation,
    next_window_opening,
    settled_status,
    within_working_window,
)
from domain.commands import CommandResult, Outcome

Handled = tuple[Campaign, CommandResult]
MAX_KEY_LENGTH = 128
MAX_NAME_LENGTH = 200


def target_id(cmd: CreateCampaign | CampaignCommand) -> UUID:
    """The stream a command addresses, so the caller can load it before handling."""
    if isinstance(cmd, CreateCampaign):
        return campaign_id(cmd.project_id, cmd.campaign_key)
    return cmd.campaign_id


def create_campaign(campaign: Campaign | None, cmd: CreateCampaign) -> Handled:
    """Open a draft; the same key again is the same campaign, never a second one."""
    if (
        not 1 <= len(cmd.campaign_key) <= MAX_KEY_LENGTH
        or not 1 <= len(cmd.name) <= MAX_NAME_LENGTH
    ):
        raise InvalidCampaignCommand(
            RuleCode.INVALID_CAMPAIGN,
            f"campaign_key needs 1-{MAX_KEY_LENGTH} characters, name 1-{MAX_NAME_LENGTH}",
        )
    if campaign is not None:
        if campaign.created_by == cmd.operation_id:
            return campaign, campaign.result(cmd.operation_id)
        raise CampaignConflict(
            RuleCode.CAMPAIGN_EXISTS,
            f"campaign key {cmd.campaign_key!r} is already used in this project",
            campaign_id=str(campaign.id),
        )
    campaign = Campaign(
        project_id=cmd.project_id,
        operation_id=cmd.operation_id,
        trace_id=cmd.trace_id,
        campaign_key=cmd.campaign_key,
        name=cmd.name,
        limits=cmd.limits.to_data(),
    )
    return campaign, campaign.result(cmd.operation_id)


def _existing(campaign: Campaign | None, cmd: CampaignCommand) -> Campaign:
    if campaign is None or (campaign.project_id, campaign.id) != (cmd.project_id, cmd.campaign_id):
        raise CampaignNotFound(
            RuleCode.CAMPAIGN_NOT_FOUND, f"no campaign {cmd.campaign_id} in this project"
        )
    return campaign


def _lifecycle(step: Lifecycle) -> Callable[[Campaign | None, CampaignCommand], Handled]:
    def handle(campaign: Campaign | None, cmd: CampaignCommand) -> Handled:
        """Start, pause, resume or stop, only from the states the tables allow."""
        campaign = _existing(campaign, cmd)
        allowed, target = LIFECYCLE[step]
        if campaign.state not in allowed or target not in TRANSITIONS[campaign.state]:
            raise CampaignConflict(
                RuleCode.INVALID_TRANSITION,
                f"cannot {step} a {campaign.state} campaign",
                state=str(campaign.state),
                target=str(target),
            )
        if step is Lifecycle.START and not campaign.book.contacts:
            raise CampaignConflict(RuleCode.NO_CONTACTS, "add contacts before starting")
        events = {
            Lifecycle.START: campaign.Started,
            Lifecycle.PAUSE: campaign.Paused,
            Lifecycle.RESUME: campaign.Resumed,
            Lifecycle.STOP: campaign.Stopped,
        }
        campaign.emit(events[step], cmd.operation_id, cmd.trace_id)
        return campaign, campaign.result(cmd.operation_id)

    handle.__name__ = f"{step}_campaign"
    return handle


start_campaign = _lifecycle(Lifecycle.START)
pause_campaign = _lifecycle(Lifecycle.PAUSE)
resume_campaign = _lifecycle(Lifecycle.RESUME)
stop_campaign = _lifecycle(Lifecycle.STOP)


def add_contacts(campaign: Campaign | None, cmd: AddContacts) -> Handled:
    """Add the contacts not yet known; a batch of known ones only is ignored."""
    campaign = _existing(campaign, cmd)
    if campaign.state in CLOSED:
        raise CampaignConflict(
            RuleCode.CAMPAIGN_CLOSED, f"a {campaign.state} campaign takes no more contacts"
        )
    fresh = campaign.book.new_contacts([(c.contact_id, c.phone_number) for c in cmd.contacts])
    if not fresh:
        return campaign, campaign.result(cmd.operation_id, Outcome.IGNORED, "no_new_contacts")
    campaign.emit(campaign.ContactsAdded, cmd.operation_id, cmd.trace_id, contacts=fresh)
    return campaign, campaign.result(cmd.operation_id)


def schedule_attempt(campaign: Campaign | None, cmd: ScheduleAttempt) -> Handled:
    """Reserve the contact's next attempt, if every dialing rule allows it at scheduled_at."""
    campaign = _existing(campaign, cmd)
    at, contact, book = as_utc(cmd.scheduled_at, "scheduled_at"), cmd.contact_id, campaign.book
    if contact not in book.contacts:
        raise CampaignNotFound(RuleCode.UNKNOWN_CONTACT, f"no contact {contact!r} here")
    refusal = book.refusal(campaign.state, contact)
    if refusal is not None:
        raise CampaignConflict(refusal, _REFUSALS[refusal], contact_id=contact)
    if not within_working_window(book.limits, at):
        raise InvalidCampaignCommand(
            RuleCode.OUTSIDE_WORKING_WINDOW,
            f"{at.isoformat()} is outside the working window",
            next_opening=next_window_opening(book.limits, at).isoformat(),
        )
    earliest = book.earliest_retry(contact)
    if earliest is not None and at < earliest:
        raise CampaignConflict(
            RuleCode.BEFORE_RETRY_TIME,
            f"contact {contact!r} may be dialled again from {earliest.isoformat()}",
            earliest=earliest.isoformat(),
        )
    number = book.attempts_used(contact) + 1
    campaign.emit(
        campaign.AttemptScheduled,
        cmd.operation_id,
        cmd.trace_id,
        attempt_id=attempt_id(campaign.id, contact, number),
        contact_id=contact,
        attempt_number=number,
        scheduled_at=at,
    )
    return campaign, campaign.result(cmd.operation_id)


def start_attempt(campaign: Campaign | None, cmd: StartAttempt) -> Handled:
    """Link the attempt to its call; a repeated or conflicting link is kept, not applied."""
    campaign = _existing(campaign, cmd)
    attempt = campaign.book.attempts.get(cmd.attempt_id)
    reason: AttemptIgnoreReason | None = None
    if attempt is None:
        reason = AttemptIgnoreReason.UNKNOWN_ATTEMPT
    elif attempt.call_sid == cmd.call_sid:
        reason = AttemptIgnoreReason.DUPLICATE
    elif attempt.call_sid is not None:
        reason = AttemptIgnoreReason.CONFLICTING_CALL_SID
    return _observe(campaign, cmd, campaign.AttemptStarted, reason, call_sid=cmd.call_sid)


def record_attempt_status(campaign: Campaign | None, cmd: RecordAttemptStatus) -> Handled:
    """Apply the provider's news or record why not; never raises for provider disorder."""
    campaign = _existing(campaign, cmd)
    attempt = campaign.book.attempts.get(cmd.attempt_id)
    observed_at = None if cmd.observed_at is None else as_utc(cmd.observed_at, "observed_at")
    reason = (
        AttemptIgnoreReason.UNKNOWN_ATTEMPT
        if attempt is None
        else judge_attempt_observation(
            attempt.status, attempt.last_observed_at, cmd.status, observed_at
        )
    )
    return _observe(campaign, cmd, campaign.AttemptStatusChanged, reason, status=cmd.status)


def _observe(
    campaign: Campaign,
    cmd: StartAttempt | RecordAttemptStatus,
    event_class: type[Any],
    reason: AttemptIgnoreReason | None,
    **fields: str,
) -> Handled:
    observed_at = None if cmd.observed_at is None else as_utc(cmd.observed_at, "observed_at")
    common = {"attempt_id": cmd.attempt_id, "observed_at": observed_at, "source": str(cmd.source)}
    op, trace = cmd.operation_id, cmd.trace_id
    if reason is not None:
        (observed,) = fields.values()
        ignored = campaign.AttemptObservationIgnored
        campaign.emit(ignored, op, trace, observed=observed, reason=str(reason), **common)
        return campaign, campaign.result(op, Outcome.IGNORED, str(reason))
    campaign.emit(event_class, op, trace, **fields, **common)
    _complete_if_done(campaign, cmd)
    return campaign, campaign.result(op)


def finish_attempt(campaign: Campaign | None, cmd: FinishAttempt) -> Handled:
    """Settle an attempt with its result; the campaign completes when nothing is left."""
    campaign = _existing(campaign, cmd)
    result = AttemptResult(cmd.result)
    finished = as_utc(cmd.finished_at, "finished_at")
    callback = None if cmd.callback_at is None else as_utc(cmd.callback_at, "callback_at")
    if callback is not None and result is not AttemptResult.CALLBACK_NEEDED:
        raise InvalidCampaignCommand(
            RuleCode.INVALID_CALLBACK, "callback_at is only for result callback-needed"
        )
    attempt = campaign.book.attempts.get(cmd.attempt_id)
    if attempt is None:
        raise CampaignNotFound(RuleCode.UNKNOWN_ATTEMPT, f"no attempt {cmd.attempt_id!r} here")
    if attempt.result is not None:
        raise CampaignConflict(
            RuleCode.ATTEMPT_ALREADY_FINISHED,
            f"attempt {cmd.attempt_id!r} already finished with {attempt.result}",
        )
    campaign.emit(
        campaign.AttemptFinished,
        cmd.operation_id,
        cmd.trace_id,
        attempt_id=cmd.attempt_id,
        result=str(result),
        status=str(settled_status(attempt.status, result)),
        finished_at=finished,
        callback_at=callback,
    )
    _complete_if_done(campaign, cmd)
    return campaign, campaign.result(cmd.operation_id)


def _complete_if_done(campaign: Campaign, cmd: CampaignCommand) -> None:
    book = campaign.book
    if campaign.state in (CampaignState.RUNNING, CampaignState.PAUSED) and book.all_done:
        campaign.emit(
            campaign.Completed,
            cmd.operation_id,
            cmd.trace_id,
            contacts_succeeded=len(book.succeeded),
            contacts_exhausted=len(book.contacts) - len(book.succeeded),
        )


_REFUSALS: dict[RuleCode, str] = {
    RuleCode.CAMPAIGN_NOT_RUNNING: "attempts are scheduled only while the campaign runs",
    RuleCode.CONTACT_SUCCEEDED: "this contact already succeeded",
    RuleCode.MAX_ATTEMPTS_REACHED: "this contact has used every attempt it is allowed",
    RuleCode.ATTEMPT_OPEN: "the contact's previous attempt has not finished",
    RuleCode.CONCURRENCY_LIMIT: "the campaign already has max_concurrent_calls calls in flight",
}

# Routing is a visible table: command type -> handler.
HANDLERS: dict[type[Any], Callable[[Campaign | None, Any], Handled]] = {
    CreateCampaign: create_campaign,
    AddContacts: add_contacts,
    StartCampaign: start_campaign,
    PauseCampaign: pause_campaign,
    ResumeCampaign: resume_campaign,
    StopCampaign: stop_campaign,
    ScheduleAttempt: schedule_attempt,
    StartAttempt: start_attempt,
    RecordAttemptStatus: record_attempt_status,
    FinishAttempt: finish_attempt,
}


def handle(campaign: Campaign | None, cmd: Any) -> Handled:
    """Route a command to its handler; raises CampaignRuleViolation when it is refused."""
    return HANDLERS[type(cmd)](campaign, cmd)
