"""Admin-only operations on the whole installation (an admin-role key of any project)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from adapters.postgres.projects import Principal
from entrypoints.api.deps import PrincipalDep
from entrypoints.api.errors import ApiError
from entrypoints.api.rebuild_job import FactsRebuildJob, RebuildStatus

router = APIRouter(prefix="/api/admin", tags=["admin"])
REBUILD_PATH = "/projections/clickhouse_facts/rebuild"


async def require_admin(principal: PrincipalDep) -> Principal:
    if principal.role != "admin":
        raise ApiError(
            403,
            "ADMIN_ROLE_REQUIRED",
            "This operation needs an admin API key",
            [f"This key's role is '{principal.role}'; use a key with role 'admin'."],
        )
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def _job(request: Request) -> FactsRebuildJob:
    job: FactsRebuildJob | None = getattr(request.app.state, "clickhouse_rebuild", None)
    if job is None:
        raise ApiError(
            409,
            "CLICKHOUSE_NOT_CONFIGURED",
            "This process has no ClickHouse to rebuild",
            ["Set CLICKHOUSE_URL, or call the process that owns the embedded chDB."],
        )
    return job


@router.post(REBUILD_PATH, status_code=202, summary="Rebuild the ClickHouse facts, then swap")
async def start_rebuild(
    request: Request,
    _: AdminDep,
    batch_size: Annotated[int, Query(ge=100, le=100_000)] = 10_000,
) -> RebuildStatus:
    """Replays the event store into a shadow database while the live tables keep serving,
    then swaps it in (ADR 0007). Poll the GET for progress."""
    job = _job(request)
    if job.running:
        raise ApiError(
            409,
            "REBUILD_RUNNING",
            "A ClickHouse rebuild is already running",
            [f"Follow it with GET /api/admin{REBUILD_PATH}."],
        )
    job.start(batch_size)
    return job.status


@router.get(REBUILD_PATH, summary="The ClickHouse rebuild's state and progress")
async def rebuild_status(request: Request, _: AdminDep) -> RebuildStatus:
    return _job(request).status
