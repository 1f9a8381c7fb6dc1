"""Pure-ASGI middleware: a trace id per request, echoed back and put in every log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from entrypoints.observability import trace_id_from, trace_id_var

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
        token = trace_id_var.set(trace_id)
        started = time.perf_counter()
        status = 0

        async def send_with_trace(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-trace-id", trace_id.encode()),
                ]
            await send(message)

        try:
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
            trace_id_var.reset(token)
