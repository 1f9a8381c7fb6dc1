"""POST /api/sync/...: run a reconcile job now for the key's project (admin or operator)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path

from adapters.postgres.projects import Principal, Project
from adapters.postgres.sync_state import sync_states
from adapters.reconcile.jobs import Reconciler, ReconcileResult, reconcilable_projects
from adapters.twilio.rest_client import PROVIDER_ERRORS
from entrypoints.api.deps import OperatorDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.spec import errors

router = APIRouter(prefix="/api/sync", tags=["sync"], responses=errors(401, 403))


async def _project(principal: Principal, services: ServicesDep) -> Project:
    assert services.settings.database_url
    found = await asyncio.to_thread(
        reconcilable_projects, services.settings.database_url, principal.project_id
    )
    if not found:
        raise ApiError(
            409,
            "PROVIDER_API_NOT_CONFIGURED",
            "This project has no provider API URL, so there is nothing to reconcile against",
            [
                "Set the project's provider_api_url: https://api.twilio.com for Twilio, or the"
                " URL `switchboard simulate --serve` prints."
            ],
        )
    return found[0]


async def _run(work: Any, *args: Any) -> dict[str, Any]:
    try:
        result: ReconcileResult = await asyncio.to_thread(work, *args)
    except PROVIDER_ERRORS as exc:
        raise ApiError(
            502,
            "PROVIDER_UNAVAILABLE",
            "The provider's REST API did not answer as expected",
            ["Check the project's provider_api_url and auth token, then retry."],
            {"error": f"{type(exc).__name__}: {exc}"[:300]},
        ) from exc
    return result.as_dict()


def _reconciler(services: ServicesDep) -> Reconciler:
    assert services.settings.database_url
    return Reconciler(services.settings.database_url, services.store)


@router.post(
    "/reconcile/{job}",
    summary="Run the hot, warm or cold reconcile job now",
    responses=errors(409, 422, 502),
)
async def reconcile(
    job: Literal["hot", "warm", "cold"], principal: OperatorDep, services: ServicesDep
) -> dict[str, Any]:
    """Compares the provider's calls with ours and repairs drift with idempotent commands.
    `drift` counts calls found wrong by kind; `enriched` counts late prices."""
    project = await _project(principal, services)
    return await _run(_reconciler(services).run, job, project)


@router.post(
    "/today",
    summary="Emergency manual sync: every call the provider started today",
    responses=errors(409, 502),
)
async def sync_today(principal: OperatorDep, services: ServicesDep) -> dict[str, Any]:
    project = await _project(principal, services)
    return await _run(_reconciler(services).run, "today", project)


@router.post(
    "/call/{call_sid}",
    summary="Sync one call and its recordings from the provider",
    responses=errors(404, 409, 422, 502),
)
async def sync_call(
    call_sid: Annotated[str, Path(pattern=r"^CA[0-9a-fA-F]{32}$")],
    principal: OperatorDep,
    services: ServicesDep,
) -> dict[str, Any]:
    project = await _project(principal, services)
    result = await _run(_reconciler(services).call, project, call_sid)
    if result["not_found"]:
        raise ApiError(
            404,
            "PROVIDER_CALL_NOT_FOUND",
            "The provider does not know this call",
            ["Check the CallSid and that it belongs to this project's provider account."],
            {"call_sid": call_sid},
        )
    return result


@router.get("/state", summary="Reconcile cursors, last success and last error of each job")
async def sync_state(principal: OperatorDep, services: ServicesDep) -> dict[str, Any]:
    assert services.settings.database_url
    rows = await asyncio.to_thread(sync_states, services.settings.database_url)
    suffix = f":{principal.project_id}"
    jobs = [
        {**row, "job_name": row["job_name"].removesuffix(suffix)}
        for row in rows
        if row["job_name"].endswith(suffix)
    ]
    return {"jobs": jobs}
