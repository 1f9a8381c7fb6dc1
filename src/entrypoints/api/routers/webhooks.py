"""POST /webhooks/twilio/{voice,recording,messaging}-status: authenticate, store durably,
answer. Nothing else happens on this path.

The hottest path in the product is served by a raw ASGI layer in front of the framework
(WebhookFastPath), not by FastAPI path operations: their dependency solving, routing and
middleware stack cost about as much as everything below. Same error JSON, same trace ids.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.postgres.inbox import InboxEntry
from adapters.twilio.callbacks import MalformedCallback, parse_body
from adapters.twilio.kinds import KINDS, CallbackKind
from adapters.twilio.signature import is_valid
from entrypoints.api.deps import Services
from entrypoints.api.errors import ApiError, error_response, unexpected_error_response
from entrypoints.api.middleware import TraceMiddleware
from entrypoints.api.public_url import signed_url
from entrypoints.api.rate_limit import retry_after
from entrypoints.api.spec import errors
from entrypoints.observability import trace_id_var

PREFIX = "/webhooks/twilio"
_ACCEPTED = Response(b'{"stored":true}', media_type="application/json")
_DUPLICATE = Response(b'{"stored":false,"duplicate":true}', media_type="application/json")


# The `reason` label of webhook_rejected_total, by error code.
REASONS = {
    "PAYLOAD_TOO_LARGE": "too_large",
    "WEBHOOK_MALFORMED": "malformed",
    "WEBHOOK_ACCOUNT_UNKNOWN": "unknown_account",
    "WEBHOOK_SIGNATURE_INVALID": "invalid_signature",
    "RATE_LIMITED": "rate_limited",
}


async def read_limited(request: Request, limit: int) -> bytes:
    too_large = ApiError(
        413,
        "PAYLOAD_TOO_LARGE",
        "The request body is too large",
        [f"Webhook bodies are limited to {limit} bytes."],
        {"limit_bytes": limit},
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def malformed(problems: list[str]) -> ApiError:
    return ApiError(
        400,
        "WEBHOOK_MALFORMED",
        "The webhook body could not be read",
        [*problems, "Send the provider's form-encoded (or JSON with bodySHA256) callback."],
        {"problems": problems},
    )


async def store(request: Request, services: Services, kind: CallbackKind) -> Response:
    """Checks in order of cost; a forged request can never spend a project's rate."""
    body = await read_limited(request, services.settings.webhook_max_body_bytes)
    headers = request.headers
    try:
        parsed = parse_body(body, headers.get("content-type", ""))
    except MalformedCallback as exc:
        raise malformed(exc.problems) from exc
    account_sid = parsed.fields.get("AccountSid")
    if not isinstance(account_sid, str) or not account_sid:
        raise malformed(["AccountSid is required"])
    project = await services.projects.by_account_sid(account_sid)
    if project is None:
        raise ApiError(
            403,
            "WEBHOOK_ACCOUNT_UNKNOWN",
            "No project uses this AccountSid",
            ["Create a project with this --twilio-account-sid, or fix the provider's account."],
        )
    url = signed_url(request.scope, services.settings.public_base_url, services.trusted_proxies)
    if not is_valid(
        project.twilio_auth_token,
        url,
        headers.get("x-twilio-signature"),
        parsed.pairs,
        raw_body=body if parsed.is_json else None,
    ):
        services.metrics.invalid_signature.labels(kind.name).inc()
        raise ApiError(
            403,
            "WEBHOOK_SIGNATURE_INVALID",
            "The X-Twilio-Signature does not match",
            [
                "Check the project's auth token.",
                "Behind a proxy, set SB_PUBLIC_BASE_URL to the URL the provider calls,"
                " or list the proxy in SB_TRUSTED_PROXIES so X-Forwarded-* are used.",
            ],
        )
    wait = services.webhook_rate.take(project.id)
    if wait:
        raise ApiError(
            429,
            "RATE_LIMITED",
            "Too many webhooks for this project",
            [f"Retry after {retry_after(wait)} s; the limit is per project and API process."],
            {"retry_after_seconds": round(wait, 3)},
            headers={"Retry-After": retry_after(wait)},
        )
    try:
        kind.check(parsed.fields)
    except MalformedCallback as exc:
        raise malformed(exc.problems) from exc
    call_sid, recording_sid, message_sid = kind.sids(parsed.fields)
    stored = await services.inbox.add(
        InboxEntry(
            project_id=project.id,
            source="twilio",
            event_type=kind.name,
            dedupe_key=kind.dedupe_key(parsed.fields),
            payload=parsed.fields,
            trace_id=trace_id_var.get(),
            call_sid=call_sid,
            recording_sid=recording_sid,
            message_sid=message_sid,
            idempotency_token=headers.get("i-twilio-idempotency-token"),
        )
    )
    return _ACCEPTED if stored else _DUPLICATE


class WebhookFastPath:
    """The outermost ASGI layer: POSTs to a webhook path go straight to `store`, past the
    framework's middleware and routing (about a quarter of a webhook's CPU time otherwise).
    It keeps what matters from that stack: the trace id, the error JSON, a 500 on a bug.
    Everything else, lifespan included, goes to `app`."""

    def __init__(self, services_of: Callable[[], Services], app: ASGIApp) -> None:
        self.services_of = services_of
        self.app = app
        self.routes = {
            f"{PREFIX}/{name}": TraceMiddleware(functools.partial(self._webhook, kind))
            for name, kind in KINDS.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is not None and scope["method"] == "POST":
            await route(cast(dict[str, Any], scope), receive, send)
        else:
            await self.app(scope, receive, send)

    async def _webhook(
        self, kind: CallbackKind, scope: Scope, receive: Receive, send: Send
    ) -> None:
        services = self.services_of()
        services.metrics.received.labels(kind.name).inc()
        response: Response
        try:
            response = await store(Request(scope, receive), services, kind)
        except ApiError as exc:
            reason = REASONS.get(exc.code, exc.code.lower())
            services.metrics.rejected.labels(kind.name, reason).inc()
            response = error_response(exc)
        except Exception:
            response = unexpected_error_response()
        await response(scope, receive, send)


_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # no NUL: PostgreSQL text cannot hold it
_REQUIRED = {**_TEXT, "minLength": 1}
_STORED = {
    "type": "object",
    "required": ["stored"],
    "properties": {"stored": {"type": "boolean"}, "duplicate": {"type": "boolean"}},
}


def document(spec: dict[str, Any]) -> None:
    """The fast path is invisible to FastAPI's generator: describe it in the spec by hand,
    with the same error body as every other route (spec.document adds the 500)."""
    for kind in KINDS.values():
        required = ["AccountSid", *(f for f in kind.sid_fields if f)]
        form = {
            "type": "object",
            "required": required,
            "properties": dict.fromkeys(required, _REQUIRED),
            "additionalProperties": _TEXT,
        }
        responses = {str(k): v for k, v in errors(400, 403, 413, 429).items()}
        responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        spec["paths"][f"{PREFIX}/{kind.name}"] = {
            "post": {
                "tags": ["webhooks"],
                "summary": f"Twilio {kind.name.replace('-', ' ')} callback",
                "description": "Signed with X-Twilio-Signature (the project's auth token). 200"
                " means the callback is durable in the inbox; a duplicate gets 200 too.",
                "operationId": f"twilio_{kind.name.replace('-', '_')}",
                "parameters": [
                    {
                        "name": "X-Twilio-Signature",
                        "in": "header",
                        "required": True,
                        "schema": _REQUIRED,
                    },
                    {
                        "name": "I-Twilio-Idempotency-Token",
                        "in": "header",
                        "required": False,
                        "schema": _TEXT,
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": form},
                        "application/json": {"schema": {**form, "additionalProperties": True}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "Stored (or a known duplicate)",
                        "content": {"application/json": {"schema": _STORED}},
                    },
                    **responses,
                },
            }
        }
