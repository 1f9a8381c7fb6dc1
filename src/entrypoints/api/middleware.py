"""Pure-ASGI middleware: a trace id per request, echoed back and put in every log line; and
no URL with a NUL gets past it (PostgreSQL text cannot hold one, so it could only fail)."""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any

from entrypoints.api.errors import ApiError, error_response
from entrypoints.observability import trace_id_from, trace_id_var

NUL_IN_URL = ApiError(
    422,
    "VALIDATION_FAILED",
    "The URL contains a NUL character",
    ["Remove %00 from the path and the query."],
)

log = logging.getLogger("switchboard.access")


class TraceMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traceparent = None
        for name, value in scope.get("headers", ()):
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
                break
        trace_id = trace_id_from(traceparent)
        trace_id_var.set(trace_id)
        started = time.perf_counter()
        status = 0

        async def send_with_trace(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-trace-id", trace_id.encode()),
                ]
            await send(message)

        try:
            if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
                await error_response(NUL_IN_URL)(scope, receive, send_with_trace)
            else:
                await self.app(scope, receive, send_with_trace)
        finally:
            if log.isEnabledFor(logging.DEBUG) or status >= 400:
                log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            # No reset: the server runs each request in a task of its own, so nothing leaks,
            # and the 500 handler (outside this middleware) still logs and sends this trace id.
