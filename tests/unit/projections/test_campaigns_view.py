"""CampaignsViewProjection: Campaign events fold into campaign, contact and attempt rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.campaign_commands import PauseCampaign, RecordAttemptStatus, StopCampaign
from domain.campaign_rules import AttemptResult
from domain_events import (
    ANNA,
    BORIS,
    CLARA,
    LIMITS,
    PHONES,
    PROJECT,
    T0,
    CampaignScript,
    call_events,
    completed_campaign,
)
from projections.campaigns_view import CampaignsViewProjection, CampaignView
from projections.positioned import PositionedEvent


def project(events: list[Any], first_position: int = 100) -> CampaignView:
    view: CampaignView | None = None
    for position, event in enumerate(events, start=first_position):
        view = CampaignsViewProjection.apply(view, PositionedEvent(position, event))
    assert view is not None
    return view


def test_created_event_starts_a_draft_row_with_its_limits() -> None:
    script = CampaignScript("k1")

    view = CampaignsViewProjection.apply(None, PositionedEvent(3, script.events[0]))

    row = view.campaign
    assert (row.project_id, row.campaign_id) == (PROJECT, str(script.id))
    assert (row.campaign_key, row.name, row.state) == ("k1", "Campaign k1", "draft")
    assert row.limits == LIMITS.to_data()
    assert (row.version, row.last_position) == (1, 3)
    assert row.created_at == script.events[0].timestamp
    assert CampaignsViewProjection.key(script.events[0]) == (PROJECT, str(script.id))


def test_a_completed_campaign_folds_into_rows_that_agree_with_the_aggregate() -> None:
    script = completed_campaign()
    campaign = script.campaign
    assert campaign is not None

    view = project(script.events)

    assert view.campaign.state == "completed"
    assert view.campaign.closed_at == script.events[-1].timestamp
    assert view.campaign.started_at is not None
    assert view.campaign.version == campaign.version
    book = campaign.book
    assert set(view.contacts) == set(book.contacts) == {ANNA, BORIS}
    for cid, contact in view.contacts.items():
        assert contact.phone_number == PHONES[cid]
        assert contact.attempts_used == book.attempts_used(cid)
        assert contact.succeeded == (cid in book.succeeded)
        assert contact.exhausted == (cid not in book.unfinished and cid not in book.succeeded)
    assert view.contacts[BORIS].exhausted is True
    assert view.contacts[BORIS].last_result == "busy"
    assert view.contacts[ANNA].last_result == "success"
    assert set(view.attempts) == set(book.attempts)
    for aid, attempt in view.attempts.items():
        known = book.attempts[aid]
        assert (attempt.contact_id, attempt.attempt_number) == (known.contact_id, known.number)
        assert attempt.status == known.status.value
        assert attempt.result == (known.result.value if known.result else None)
        assert attempt.call_sid == known.call_sid
        assert (attempt.scheduled_at, attempt.finished_at) == (
            known.scheduled_at,
            known.finished_at,
        )
        assert attempt.last_observed_at == known.last_observed_at


def test_a_contact_with_attempts_left_is_not_exhausted() -> None:
    script = CampaignScript("k2")
    script.add(CLARA)
    script.start()
    script.attempt(CLARA, 1, T0, AttemptResult.NO_ANSWER)

    view = project(script.events)

    clara = view.contacts[CLARA]
    assert (clara.attempts_used, clara.last_result, clara.exhausted) == (1, "no-answer", False)
    assert view.campaign.state == "running"


def test_an_open_last_attempt_keeps_the_contact_from_being_exhausted() -> None:
    script = CampaignScript("k3")
    script.add(CLARA)
    script.start()
    script.attempt(CLARA, 1, T0, AttemptResult.NO_ANSWER)
    script.attempt(CLARA, 2, T0 + timedelta(hours=2), statuses=["ringing"])

    view = project(script.events)

    clara = view.contacts[CLARA]
    assert (clara.attempts_used, clara.last_status, clara.last_result) == (2, "ringing", None)
    assert clara.exhausted is False


def test_pause_and_stop_change_the_state_and_stop_closes_the_campaign() -> None:
    script = CampaignScript("k4")
    script.add(ANNA)
    script.start()
    script.on(PauseCampaign)
    paused = project(script.events).campaign
    script.on(StopCampaign)

    row = project(script.events).campaign

    assert paused.state == "paused"
    assert paused.closed_at is None
    assert row.state == "stopped"
    assert row.closed_at == script.events[-1].timestamp


def test_an_ignored_attempt_observation_changes_only_the_version() -> None:
    script = CampaignScript("k5")
    script.add(ANNA)
    script.start()
    aid = script.attempt(ANNA, 1, T0, statuses=["in-progress"])
    before = project(script.events)
    script.on(RecordAttemptStatus, attempt_id=aid, status="ringing", observed_at=T0)

    after = project(script.events)

    assert type(script.events[-1]).__name__ == "AttemptObservationIgnored"
    assert after.attempts == before.attempts
    assert after.contacts == before.contacts
    assert after.campaign.version == before.campaign.version + 1


def test_handles_only_campaign_events() -> None:
    assert all(CampaignsViewProjection.handles(e) for e in completed_campaign().events)
    assert not any(CampaignsViewProjection.handles(e) for e in call_events("CA1", ["ringing"]))


def test_an_event_for_an_unknown_campaign_or_attempt_is_refused() -> None:
    events = completed_campaign().events
    with pytest.raises(LookupError, match="position 9"):
        CampaignsViewProjection.apply(None, PositionedEvent(9, events[1]))
    draft = project(events[:1])
    with pytest.raises(LookupError, match="attempt"):
        CampaignsViewProjection.apply(draft, PositionedEvent(200, events[4]))
