"""schemas/openapi.json is exported from the app (`make openapi`) and must not drift."""

from __future__ import annotations

import json

from ops.openapi import OPENAPI, render


def test_the_exported_openapi_spec_matches_the_app() -> None:
    assert OPENAPI.read_text() == render(), "schemas/openapi.json is stale: run `make openapi`"


def test_the_spec_documents_the_read_api_and_the_idempotency_header() -> None:
    spec = json.loads(render())
    paths = spec["paths"]
    for path in (
        "/api/calls",
        "/api/calls/{call_sid}/history",
        "/api/events",
        "/api/conversations",
        "/webhooks/twilio/voice-status",
        "/realtime/stream",
    ):
        assert path in paths, path
    create = paths["/api/campaigns"]["post"]
    assert any(p["name"] == "X-Operation-Id" for p in create["parameters"])
