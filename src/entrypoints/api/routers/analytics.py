"""/api/analytics/sql: an analyst's read-only SQL over their own project's ClickHouse facts.

With the embedded default only the API process may open chDB, so `switchboard sql` and
`switchboard report` come through here (ADR 0009)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from adapters.clickhouse.analyst import QueryFailed, QueryRefused, json_value
from entrypoints.api.deps import AnalystDep, ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.api.spec import errors

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=errors(401, 403, 422))


class SqlIn(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="One SELECT statement.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Values of the query's `{name:Type}` parameters; `project_id` is always "
        "the key's project.",
    )


class SqlOut(BaseModel):
    columns: list[str]
    types: list[str] = Field(description="ClickHouse type of each column.")
    rows: list[list[Any]] = Field(
        description="Times are ISO 8601 (UTC), decimals and UUIDs are strings."
    )


@router.post("/sql", response_model=SqlOut, responses=errors(400))
async def run_sql(body: SqlIn, principal: AnalystDep, services: ServicesDep) -> SqlOut:
    """Run one read-only query over this project's facts: `events`, `calls`,
    `call_events`, `call_outcomes_per_minute`, `campaign_results_per_minute`
    (schemas/clickhouse/README.md). Allowed for the roles admin and analyst; phone numbers
    and addresses come masked unless the role is admin."""
    try:
        result = await asyncio.to_thread(
            services.analyst.run,
            principal.project_id,
            body.sql,
            body.params,
            pii=principal.role == "admin",
        )
    except QueryRefused as exc:
        raise ApiError(
            400,
            "QUERY_REFUSED",
            "This query is not allowed",
            [str(exc), "Write one SELECT over the analyst tables, without a database name."],
        ) from exc
    except QueryFailed as exc:
        raise ApiError(
            400, "QUERY_FAILED", "ClickHouse could not run this query", [str(exc)]
        ) from exc
    return SqlOut(
        columns=result.columns,
        types=result.types,
        rows=[[json_value(v) for v in row] for row in result.rows],
    )
