"""`switchboard sql` and `switchboard report` against a real API server (uvicorn on a free
port) over real PostgreSQL (keys and roles) and chDB (facts projected from generated calls)."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from adapters.postgres.projects import Project, issue_api_key
from analytics_data import FROM, OTHER_PROJECT, TO, CallSpec, fresh_facts, project_facts, specs
from entrypoints.api.app import create_app
from entrypoints.cli.main import main
from entrypoints.settings import Settings

PERIOD = ["--from", FROM.isoformat(), "--to", TO.isoformat()]
BY_STATUS = "SELECT status, count() AS calls FROM calls GROUP BY status ORDER BY status"


@pytest.fixture
def calls(project: tuple[Project, str], clickhouse_url: str) -> list[CallSpec]:
    ch = fresh_facts(clickhouse_url)
    mine = specs(project[0].id, calls=21)
    project_facts(ch, mine + specs(OTHER_PROJECT, calls=9))
    ch.close()
    return mine


@pytest.fixture
def api(settings: Settings, clickhouse_url: str, calls: list[CallSpec]) -> Iterator[str]:
    """The API on 127.0.0.1:<free port>, reading the test's chDB."""
    app = create_app(
        settings.model_copy(update={"clickhouse_url": clickhouse_url}),
        run_clickhouse_projection=False,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, loop="asyncio")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def sql(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["sql", *args])
    out, err = capsys.readouterr()
    return status, out, err


def by_status(calls: list[CallSpec]) -> dict[str, int]:
    return dict(Counter(s.outcome for s in calls))


def test_table_format(
    api: str, project: tuple[Project, str], calls: list[CallSpec], capsys: Any
) -> None:
    status, out, _ = sql(capsys, BY_STATUS, "--url", api, "--key", project[1])
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["status", "calls"]
    assert set(lines[1]) <= {"-", " "}
    assert {ln.split()[0]: int(ln.split()[1]) for ln in lines[2:-1]} == by_status(calls)
    assert lines[-1] == f"({len(by_status(calls))} rows)"


def test_csv_format(
    api: str, project: tuple[Project, str], calls: list[CallSpec], capsys: Any
) -> None:
    status, out, _ = sql(capsys, BY_STATUS, "--format", "csv", "--url", api, "--key", project[1])
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["status", "calls"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == by_status(calls)


def test_json_format_keeps_values_exact(
    api: str, project: tuple[Project, str], calls: list[CallSpec], database_url: str, capsys: Any
) -> None:
    key = issue_api_key(database_url, project[0].id, "analyst")
    query = "SELECT call_sid, price, ended_at FROM calls WHERE price IS NOT NULL ORDER BY call_sid"
    status, out, _ = sql(capsys, query, "--format", "json", "--url", api, "--key", key)
    assert status == 0
    priced = sorted((s for s in calls if s.price is not None), key=lambda s: s.sid)
    rows = json.loads(out)
    assert [(r["call_sid"], r["price"]) for r in rows] == [
        (s.sid, f"{s.price:.6f}") for s in priced
    ]
    assert [r["ended_at"][:19] for r in rows] == [
        s.ended_at.strftime("%Y-%m-%dT%H:%M:%S") for s in priced
    ]


def test_a_ready_query_with_the_period(
    api: str, project: tuple[Project, str], calls: list[CallSpec], capsys: Any
) -> None:
    args = ["--ready", "answer_rate", *PERIOD, "--format", "json", "--url", api]
    status, out, _ = sql(capsys, *args, "--key", project[1])
    assert status == 0
    total = json.loads(out)[0]
    assert (total["campaign"], total["calls"]) == ("*", len(calls))
    assert total["answered"] == sum(s.answered for s in calls)


def test_other_roles_are_forbidden(
    api: str, project: tuple[Project, str], database_url: str, capsys: Any
) -> None:
    viewer = issue_api_key(database_url, project[0].id, "viewer")
    response = httpx.post(
        f"{api}/api/analytics/sql",
        json={"sql": "SELECT count() FROM calls"},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ROLE_FORBIDDEN"
    status, out, err = sql(capsys, "SELECT count() FROM calls", "--url", api, "--key", viewer)
    assert (status, out) == (1, "")
    assert "role may not do this" in err
    assert "admin, analyst" in err
    no_key = httpx.post(f"{api}/api/analytics/sql", json={"sql": "SELECT 1"})
    assert no_key.status_code == 401


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT count() FROM default.calls", "QUERY_REFUSED"),
        ("INSERT INTO calls SELECT * FROM calls", "QUERY_REFUSED"),
        ("SELECT count() FROM calls SETTINGS readonly = 0", "QUERY_FAILED"),
        ("SELECT nope FROM calls", "QUERY_FAILED"),
    ],
)
def test_refused_and_failed_queries_say_why(
    api: str, project: tuple[Project, str], query: str, code: str, capsys: Any
) -> None:
    response = httpx.post(
        f"{api}/api/analytics/sql",
        json={"sql": query},
        headers={"Authorization": f"Bearer {project[1]}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    status, _, err = sql(capsys, query, "--url", api, "--key", project[1])
    assert status == 1
    assert err.splitlines()[-1].startswith("error: ")


def test_without_a_key_the_embedded_engine_is_not_opened(capsys: Any) -> None:
    status, _, err = sql(capsys, "SELECT 1")
    assert status == 2
    assert "API key" in err


def test_report_renders_the_figures_of_the_data_set(
    api: str, project: tuple[Project, str], calls: list[CallSpec], tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "report.html"
    status = main(["report", *PERIOD, "-o", str(out), "--url", api, "--key", project[1]])
    assert status == 0, capsys.readouterr().err
    page = out.read_text()
    answered = sum(s.answered for s in calls)
    delivered = sum(s.outcome in ("completed", "busy", "no-answer") for s in calls)
    acd = sum(s.duration_s for s in calls if s.answered) / answered
    cost = -sum(s.price for s in calls if s.price is not None)
    tiles = dict(re.findall(r'<div class="tile"><b>([^<]*)</b><span>([^<]*)</span>', page))
    assert tiles[str(len(calls))] == "Calls ended"
    assert tiles[f"{100 * answered / len(calls):.1f}%"] == "ASR"
    assert tiles[f"{100 * answered / delivered:.1f}%"] == "Answer rate"
    assert tiles[f"{acd:.1f} s"] == "ACD"
    assert tiles[f"{cost:,.2f} USD"] == "Cost"
    assert page.count("<svg") == 4  # ASR per campaign, outcomes per hour, funnel, cost
    for outcome, n in by_status(calls).items():
        assert f"{outcome}: " in page  # a bar of the outcomes chart, with its count
        assert n > 0
    assert re.search(r"<script|<link|src=|@import|url\(", page) is None  # self-contained
