"""/api/campaigns: outbound campaigns. Every mutation is idempotent by X-Operation-Id."""

from __future__ import annotations

import asyncio
import uuid
from datetime import time
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from fastapi import APIRouter, Header, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from adapters.postgres.campaigns_view import CampaignStats
from adapters.postgres.projects import Principal
from domain.campaign import Campaign
from domain.campaign_commands import (
    AddContacts,
    Contact,
    CreateCampaign,
    PauseCampaign,
    ResumeCampaign,
    StartCampaign,
    StopCampaign,
)
from domain.campaign_errors import CampaignConflict, CampaignNotFound, CampaignRuleViolation
from domain.campaign_handlers import handle, target_id
from domain.campaign_limits import Limits
from entrypoints.api.bodies import CampaignSummary, CommandOutcome
from entrypoints.api.deps import PrincipalDep, Services, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.paging import json_response
from entrypoints.api.spec import body, errors, ok
from entrypoints.observability import trace_id_var

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"], responses=errors(401, 422))
_COMMAND = {200: body(CommandOutcome), **errors(404, 409)}
OperationId = Annotated[
    str | None,
    Header(
        alias="X-Operation-Id",
        max_length=200,
        description="Idempotency key: a repeat returns the first outcome, changes nothing.",
    ),
]


class LimitsIn(BaseModel):
    max_attempts_per_contact: int = 3
    retry_interval_seconds: int = 3600
    window_start: time = time(9, 0)
    window_end: time = time(20, 0)
    timezone: str = "UTC"
    max_concurrent_calls: int = 10


class CreateCampaignIn(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="Your id for this campaign.")
    name: str = Field(min_length=1, max_length=200)
    limits: LimitsIn = LimitsIn()


class ContactIn(BaseModel):
    contact_id: str = Field(min_length=1, max_length=200)
    phone_number: str = Field(description="E.164, e.g. +14155551212")


class AddContactsIn(BaseModel):
    contacts: list[ContactIn] = Field(min_length=1, max_length=1000)


def summary(campaign: Campaign) -> dict[str, Any]:
    book = campaign.book
    return {
        "campaign_id": str(campaign.id),
        "key": campaign.campaign_key,
        "name": campaign.name,
        "state": str(campaign.state),
        "limits": campaign.limits.to_data(),
        "contacts": len(book.contacts),
        "succeeded": len(book.succeeded),
        "attempts": len(book.attempts),
        "in_flight": len(book.active),
        "version": campaign.version,
    }


def _api_error(exc: CampaignRuleViolation) -> ApiError:
    status, fix = (
        (404, "Check the campaign id; it must belong to this API key's project.")
        if isinstance(exc, CampaignNotFound)
        else (409, "The campaign's current state forbids this; see details.")
        if isinstance(exc, CampaignConflict)
        else (422, "Correct the request as the details say.")
    )
    return ApiError(
        status, str(exc.code).upper(), exc.message, [fix], jsonable_encoder(exc.details)
    )


async def execute(
    services: Services,
    principal: Principal,
    operation_id: str | None,
    command: Any,
    created: bool = False,
) -> Response:
    op = operation_id or f"api:{uuid.uuid4()}"
    command = msgspec.structs.replace(command, operation_id=op)
    try:
        ran = await asyncio.to_thread(
            services.commands.run,
            principal.project_id,
            op,
            target_id(command),
            lambda agg: handle(agg, command),
        )
    except CampaignRuleViolation as exc:
        raise _api_error(exc) from exc
    body = {
        "operation_id": op,
        "outcome": ran.result.outcome.value,
        "reason": ran.result.reason,
        "replayed": ran.replayed,
        "campaign": summary(ran.aggregate) if ran.aggregate is not None else None,
    }
    headers = {"X-Operation-Id": op, "Idempotent-Replayed": str(ran.replayed).lower()}
    return JSONResponse(
        jsonable_encoder(body), status_code=201 if created else 200, headers=headers
    )


def _limits(data: LimitsIn) -> Limits:
    try:
        return Limits(**data.model_dump())
    except CampaignRuleViolation as exc:
        raise _api_error(exc) from exc


@router.post(
    "",
    status_code=201,
    summary="Create a campaign (idempotent by key)",
    responses={
        201: body(CommandOutcome, "Created (or the first outcome, replayed)"),
        **errors(400, 409),  # 400: a body that is not JSON at all
    },
)
async def create(
    body: CreateCampaignIn,
    principal: PrincipalDep,
    services: ServicesDep,
    operation_id: OperationId = None,
) -> Response:
    command = CreateCampaign(
        operation_id="",
        project_id=principal.project_id,
        campaign_key=body.key,
        name=body.name,
        limits=_limits(body.limits),
        trace_id=trace_id_var.get(),
    )
    return await execute(services, principal, operation_id, command, created=True)


@router.post(
    "/{campaign_id}/contacts",
    summary="Add contacts (up to 1,000 per request)",
    responses={**_COMMAND, **errors(400)},
)
async def add_contacts(
    campaign_id: UUID,
    body: AddContactsIn,
    principal: PrincipalDep,
    services: ServicesDep,
    operation_id: OperationId = None,
) -> Response:
    command = AddContacts(
        operation_id="",
        project_id=principal.project_id,
        campaign_id=campaign_id,
        trace_id=trace_id_var.get(),
        contacts=[Contact(**c.model_dump()) for c in body.contacts],
    )
    return await execute(services, principal, operation_id, command)


_LIFECYCLE = {
    "start": StartCampaign,
    "pause": PauseCampaign,
    "resume": ResumeCampaign,
    "stop": StopCampaign,
}


@router.post(
    "/{campaign_id}/{action}",
    summary="Start, pause, resume or stop a campaign",
    responses=_COMMAND,
)
async def lifecycle(
    campaign_id: UUID,
    action: Literal["start", "pause", "resume", "stop"],
    principal: PrincipalDep,
    services: ServicesDep,
    operation_id: OperationId = None,
) -> Response:
    command = _LIFECYCLE[action](
        operation_id="",
        project_id=principal.project_id,
        campaign_id=campaign_id,
        trace_id=trace_id_var.get(),
    )
    return await execute(services, principal, operation_id, command)


@router.get(
    "/{campaign_id}/stats",
    summary="Progress, results and attempts by status",
    responses=ok(CampaignStats, 404),
)
async def stats(campaign_id: UUID, principal: PrincipalDep, services: ServicesDep) -> Response:
    found = await services.campaign_views.campaign_stats(principal.project_id, str(campaign_id))
    if found is None:
        raise ApiError(
            404,
            "CAMPAIGN_NOT_FOUND",
            "No such campaign in this project",
            ["Check the campaign id; it must belong to this API key's project."],
        )
    return json_response(found)


@router.get(
    "/{campaign_id}", summary="A campaign's state and progress", responses=ok(CampaignSummary, 404)
)
async def get(campaign_id: UUID, principal: PrincipalDep, services: ServicesDep) -> Response:
    campaign = await asyncio.to_thread(services.store.aggregate, campaign_id)
    if not isinstance(campaign, Campaign) or campaign.project_id != principal.project_id:
        raise ApiError(
            404,
            "CAMPAIGN_NOT_FOUND",
            "No such campaign in this project",
            ["Check the campaign id; it must belong to this API key's project."],
        )
    return JSONResponse(jsonable_encoder(summary(campaign)))
