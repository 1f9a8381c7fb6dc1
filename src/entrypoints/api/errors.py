"""One error shape everywhere (seed 000, 3.2): code, human title, how to fix, trace id."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from entrypoints.observability import trace_id_var

log = logging.getLogger("switchboard.api")


class ErrorDetails(msgspec.Struct):
    """`trace_id` always; other keys depend on the code (e.g. `problems`, `call_sid`)."""

    trace_id: str


class ErrorInfo(msgspec.Struct):
    code: str
    human_title: str
    human_how_to_fix: list[str]
    details: ErrorDetails


class ErrorBody(msgspec.Struct):
    """The body of every error response (documented in OpenAPI; see spec.py)."""

    error: ErrorInfo


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        how_to_fix: list[str],
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.how_to_fix = how_to_fix
        self.details = details or {}
        self.headers = headers


def error_response(err: ApiError) -> JSONResponse:
    trace_id = trace_id_var.get()
    log.log(
        logging.ERROR if err.status >= 500 else logging.INFO,
        "request failed",
        extra={"status": err.status, "code": err.code, "trace_id": trace_id},
    )
    body = {
        "error": {
            "code": err.code,
            "human_title": err.title,
            "human_how_to_fix": err.how_to_fix,
            "details": {"trace_id": trace_id, **err.details},
        }
    }
    return JSONResponse(body, status_code=err.status, headers=err.headers)


def unexpected_error_response() -> JSONResponse:
    """Call from an `except Exception` block: logs the traceback, answers the error JSON."""
    log.exception("unhandled error", extra={"trace_id": trace_id_var.get()})
    return error_response(
        ApiError(
            500,
            "INTERNAL_ERROR",
            "Something went wrong on our side",
            ["Retry later; if it persists, report the trace_id below."],
        )
    )


_HTTP_ERRORS: dict[int, tuple[str, str, list[str]]] = {
    400: (
        "BODY_UNREADABLE",
        "The request body could not be parsed",
        ["Send a UTF-8 JSON body with `Content-Type: application/json`."],
    ),
    404: ("NOT_FOUND", "Nothing is here", ["Check the path and the id in it."]),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed here", ["See /docs."]),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error_response(
            ApiError(
                422,
                "VALIDATION_FAILED",
                "The request is not valid",
                [f"{p['field']}: {p['problem']}" for p in problems],
                {"problems": problems},
            )
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code, title, fix = _HTTP_ERRORS.get(
            exc.status_code, ("HTTP_ERROR", str(exc.detail), ["See /docs."])
        )
        return error_response(
            ApiError(exc.status_code, code, title, fix, headers=dict(exc.headers or {}))
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response()
