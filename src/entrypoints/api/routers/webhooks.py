"""POST /webhooks/twilio/*: authenticate, store durably, answer. Nothing else on this path."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from adapters.postgres.inbox import InboxEntry
from adapters.twilio.callbacks import (
    MalformedCallback,
    check_voice_status,
    parse_body,
    voice_dedupe_key,
)
from adapters.twilio.signature import is_valid
from entrypoints.api.deps import ServicesDep
from entrypoints.api.errors import ApiError
from entrypoints.observability import trace_id_var

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

_ACCEPTED = Response(b'{"stored":true}', media_type="application/json")
_DUPLICATE = Response(b'{"stored":false,"duplicate":true}', media_type="application/json")


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


def public_url(request: Request, base: str | None) -> str:
    """The URL the provider signed: the configured public base, else the request's own."""
    if not base:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def malformed(problems: list[str]) -> ApiError:
    return ApiError(
        400,
        "WEBHOOK_MALFORMED",
        "The webhook body could not be read",
        [*problems, "Send the provider's form-encoded (or JSON with bodySHA256) callback."],
        {"problems": problems},
    )


_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # no NUL: PostgreSQL text cannot hold it
_REQUIRED = {**_TEXT, "minLength": 1}
_VOICE_STATUS_REQUEST = {
    "parameters": [
        {"name": "X-Twilio-Signature", "in": "header", "required": True, "schema": _REQUIRED}
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["AccountSid", "CallSid", "CallStatus"],
                    "properties": {f: _REQUIRED for f in ("AccountSid", "CallSid", "CallStatus")},
                    "additionalProperties": _TEXT,
                }
            }
        },
    },
}


@router.post(
    "/voice-status",
    summary="Twilio voice status callback",
    openapi_extra=_VOICE_STATUS_REQUEST,
)
async def voice_status(request: Request, services: ServicesDep) -> Response:
    body = await read_limited(request, services.settings.webhook_max_body_bytes)
    try:
        parsed = parse_body(body, request.headers.get("content-type", ""))
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
    url = public_url(request, services.settings.public_base_url)
    if not is_valid(
        project.twilio_auth_token,
        url,
        request.headers.get("x-twilio-signature"),
        parsed.pairs,
        raw_body=body if parsed.is_json else None,
    ):
        raise ApiError(
            403,
            "WEBHOOK_SIGNATURE_INVALID",
            "The X-Twilio-Signature does not match",
            [
                "Check the project's auth token.",
                "Behind a proxy, set SB_PUBLIC_BASE_URL to the URL the provider calls.",
            ],
        )
    try:
        check_voice_status(parsed.fields)
    except MalformedCallback as exc:
        raise malformed(exc.problems) from exc
    stored = await services.inbox.add(
        InboxEntry(
            project_id=project.id,
            source="twilio",
            event_type="voice-status",
            dedupe_key=voice_dedupe_key(parsed.fields),
            payload=parsed.fields,
            trace_id=trace_id_var.get(),
            call_sid=str(parsed.fields["CallSid"]),
            idempotency_token=request.headers.get("i-twilio-idempotency-token"),
        )
    )
    return _ACCEPTED if stored else _DUPLICATE
