"""Admin-only operations on the whole installation (an admin-role key of any project)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from entrypoints.api.deps import AdminDep
from entrypoints.api.errors import ApiError
from entrypoints.api.rebuild_job import FactsRebuildJob, RebuildStatus
from entrypoints.api.spec import errors

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=errors(401, 403))
REBUILD_PATH = "/projections/clickhouse_facts/rebuild"


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


@router.post(
    REBUILD_PATH,
    status_code=202,
    summary="Rebuild the ClickHouse facts, then swap",
    responses=errors(409, 422),
)
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


@router.get(
    REBUILD_PATH, summary="The ClickHouse rebuild's state and progress", responses=errors(409)
)
async def rebuild_status(request: Request, _: AdminDep) -> RebuildStatus:
    return _job(request).status
