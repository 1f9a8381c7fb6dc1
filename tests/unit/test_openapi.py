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


def test_every_error_the_spec_declares_has_the_one_error_body() -> None:
    spec = json.loads(render())
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = operation["responses"]
            assert "500" in statuses, (method, path)
            for status, response in statuses.items():
                if 400 <= int(status) <= 500:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
