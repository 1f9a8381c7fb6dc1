"""Wire constants: stream, subjects and headers, in one place."""

from __future__ import annotations

import functools
import re
from enum import StrEnum

STREAM = "SB_EVENTS"
SUBJECTS = "sb.>"
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


class Header(StrEnum):
    MSG_ID = "Nats-Msg-Id"
    POSITION = "Sb-Position"
    AGGREGATE_ID = "Sb-Aggregate-Id"
    AGGREGATE_VERSION = "Sb-Aggregate-Version"
    TOPIC = "Sb-Topic"
    TRACEPARENT = "traceparent"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.lru_cache(maxsize=4096)  # a handful of topics per project, one per event
def subject(project_id: str, topic: str) -> str:
    """`sb.<project>.<aggregate>.<event>` from a topic such as `domain.call:Call.Created`."""
    qualname = topic.rsplit(":", 1)[-1]
    aggregate, _, event = qualname.rpartition(".")
    return f"sb.{project_id}.{_snake(aggregate or 'unknown')}.{_snake(event)}"


def traceparent(trace_id: str, position: int) -> str:
    """A W3C traceparent continuing the request's trace; the span id is the position."""
    trace = trace_id if _TRACE_ID.fullmatch(trace_id) else "0" * 31 + "1"
    return f"00-{trace}-{position:016x}-01"
