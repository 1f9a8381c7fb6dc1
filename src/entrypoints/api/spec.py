"""The OpenAPI contract: bodies documented from the msgspec types that encode them, and the
one error shape (errors.py) on every error status a route can answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import FastAPI
from pydantic import BeforeValidator

from entrypoints.api.errors import ErrorBody

_REF = "#/components/schemas/{name}"
_documented: set[Any] = {ErrorBody}

ERROR_TITLES = {
    400: "The request is malformed",
    401: "No valid API key or realtime token",
    403: "Authenticated, but not allowed",
    404: "Not found in this project",
    409: "The resource's state forbids this",
    413: "The body is too large",
    422: "A parameter or the body is invalid",
    429: "Too many requests",
    500: "Unexpected error (report the trace_id)",
    502: "The provider's API failed",
}


def _iso_only(value: Any) -> Any:
    """Pydantic would also read a bare number as a Unix time; the spec says date-time."""
    try:
        float(value)
    except (TypeError, ValueError):
        return value
    raise ValueError("expected an ISO 8601 date-time, such as 2026-11-21T12:00:00Z")


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
"""A date-time parameter that accepts exactly what the spec declares."""


def schema_ref(kind: Any) -> dict[str, Any]:
    """The JSON schema of `kind`, a reference into the spec's components."""
    _documented.add(kind)
    (schema,), _ = msgspec.json.schema_components([kind], ref_template=_REF)
    return schema


def body(kind: Any, description: str = "OK") -> dict[str, Any]:
    """An `application/json` response whose body is encoded from `kind`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema_ref(kind)}},
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses, each with the error body."""
    return {status: body(ErrorBody, ERROR_TITLES[status]) for status in statuses}


def ok(kind: Any, *error_statuses: int) -> dict[int | str, dict[str, Any]]:
    """A read route's responses: 200 with `kind`, and its errors."""
    return {200: body(kind), **errors(*error_statuses)}


def document(app: FastAPI, *extra: Callable[[dict[str, Any]], None]) -> None:
    """Patch `app.openapi` so that FastAPI's own validation schema (which the error handler
    never sends) becomes the error body, every operation may answer 500, and the msgspec
    types are components. `extra` describe routes FastAPI cannot see (the webhook path)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for describe in extra:
            describe(spec)
        error = body(ErrorBody)["content"]
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                invalid = responses.get("422", {})
                if "HTTPValidationError" in str(invalid.get("content")):
                    invalid["content"] = error
                    invalid["description"] = ERROR_TITLES[422]
                responses.setdefault("500", body(ErrorBody, ERROR_TITLES[500]))
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        _, components = msgspec.json.schema_components(
            sorted(_documented, key=repr), ref_template=_REF
        )
        schemas.update(components)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
