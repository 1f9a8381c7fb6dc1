"""schemathesis against the exported OpenAPI spec, on the real app and real PostgreSQL: no
500, and every response (status, content type, body, headers) is one the spec declares."""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode, checks

from domain_events import PROJECT
from entrypoints.api.app import create_app
from entrypoints.settings import Settings
from live_server import live_server

pytest_plugins = ["read_fixtures"]  # the keys and history fixtures
EXAMPLES = 12  # per operation and generation mode: enough to find shape errors, in seconds
ENDLESS = {"/realtime/stream"}  # an SSE stream never ends: tests/e2e drive it instead
# What "inside the spec" means. Not positive_data_acceptance: any string is a schema-valid
# cursor, yet only cursors the API issued are accepted (422), by design.
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
REJECTS_INVALID = [*CONFORMANCE, checks.negative_data_rejection]


def check_operation(operation: Any, mode: GenerationMode, base: str, auth: dict[str, str]) -> None:
    invalid = mode is GenerationMode.NEGATIVE

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base, headers=auth, checks=REJECTS_INVALID if invalid else CONFORMANCE
        )

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert invalid, "valid requests can always be made"  # no parameter: nothing is invalid


def test_every_response_is_one_the_spec_declares(
    settings: Settings, keys: dict[str, str], history: dict[str, Any]
) -> None:
    app = create_app(settings, run_clickhouse_projection=False)
    schema = schemathesis.openapi.from_dict(app.openapi())
    auth = {"Authorization": f"Bearer {keys[PROJECT]}"}
    with live_server(app) as base:
        operations = [r.ok() for r in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:
            if operation.path in ENDLESS:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                check_operation(operation, mode, base, auth)

        # Random ids rarely exist: the bodies of found things are checked on purpose.
        items = httpx.get(f"{base}/api/conversations", headers=auth).json()["items"]
        conversation = {"conversation_id": items[0]["conversation_id"]}
        campaign = {"campaign_id": history["campaign_id"]}
        for path, parameters in (
            ("/api/calls/{call_sid}", {"call_sid": "CA1"}),
            ("/api/calls/{call_sid}/events", {"call_sid": "CA1"}),
            ("/api/calls/{call_sid}/history", {"call_sid": "CA1"}),
            ("/api/campaigns/{campaign_id}", campaign),
            ("/api/campaigns/{campaign_id}/stats", campaign),
            ("/api/conversations/{conversation_id}/messages", conversation),
        ):
            case = schema[path]["GET"].Case(path_parameters=parameters)
            response = case.call_and_validate(base_url=base, headers=auth, checks=CONFORMANCE)
            assert response.status_code == 200, path
