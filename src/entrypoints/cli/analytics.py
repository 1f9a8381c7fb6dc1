"""`switchboard sql` and `switchboard report`: analysts' read-only queries, one project each.

With the embedded chDB only the API process may open the data, so both go through
POST /api/analytics/sql with an admin or analyst key. With CLICKHOUSE_URL=http(s)://...
they may instead run directly, for the project named by --project (ADR 0009)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from entrypoints.cli.arguments import iso_time
from entrypoints.settings import Settings

# (sql, params) -> {"columns": [...], "types": [...], "rows": [[...]]}, values JSON-ready.
Runner = Callable[[str, dict[str, Any]], dict[str, Any]]
FORMATS = ("table", "csv", "json")


class CliError(Exception):
    """What to tell the user (exit status 2 for usage, 1 for a failed query)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def api_runner(url: str, key: str) -> Runner:
    import httpx

    endpoint = url.rstrip("/") + "/api/analytics/sql"

    def run(sql: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = httpx.post(
                endpoint,
                json={"sql": sql, "params": params},
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
        except httpx.HTTPError as exc:
            msg = f"cannot reach the API at {url} ({exc}); is `switchboard up` running?"
            raise CliError(msg) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise CliError(f"{endpoint} answered HTTP {response.status_code}, not JSON") from exc
        if response.status_code != 200:
            error = body.get("error", {})
            hints = "; ".join(error.get("human_how_to_fix", []))
            raise CliError(f"{error.get('human_title', response.status_code)}: {hints}")
        result: dict[str, Any] = body
        return result

    return run


def direct_runner(clickhouse_url: str, project_id: str) -> Runner:
    """In this process: only for a ClickHouse server (chDB belongs to the API process).
    Unmasked: whoever holds CLICKHOUSE_URL's credentials can read the raw tables anyway."""
    from adapters.clickhouse.analyst import AnalystSql, QueryFailed, QueryRefused, json_value

    analyst = AnalystSql(clickhouse_url)

    def run(sql: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            result = analyst.run(project_id, sql, params, pii=True)
        except (QueryRefused, QueryFailed) as exc:
            raise CliError(str(exc)) from exc
        rows = [[json_value(v) for v in row] for row in result.rows]
        return {"columns": result.columns, "types": result.types, "rows": rows}

    return run


def make_runner(args: argparse.Namespace, settings: Settings) -> Runner:
    key = args.key or os.environ.get("SB_API_KEY")
    if key:
        url = args.url or settings.public_base_url or f"http://{settings.host}:{settings.port}"
        return api_runner(url, key)
    if args.project and not settings.clickhouse_is_embedded:
        assert settings.clickhouse_url
        return direct_runner(settings.clickhouse_url, args.project)
    if args.project:
        msg = (
            "--project runs directly only against a ClickHouse server (CLICKHOUSE_URL=http...);"
            " the embedded chDB belongs to the API process: pass --key instead"
        )
        raise CliError(msg, 2)
    raise CliError("pass an admin or analyst API key: --key sb_... or SB_API_KEY", 2)


def render(result: dict[str, Any], fmt: str) -> str:
    columns, rows = result["columns"], result["rows"]
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v, "") for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    cells = [[_text(v, "NULL") for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [_is_number(result["types"][i]) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    body = [line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)]
    return "\n".join([*body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])


def _text(value: Any, null: str) -> str:
    if value is None:
        return null
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _is_number(clickhouse_type: str) -> bool:
    inner = clickhouse_type.removeprefix("Nullable(")
    return inner.startswith(("Int", "UInt", "Float", "Decimal"))


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--param {pair!r}: write NAME=VALUE", 2)
        params[name] = value
    return params


def query_text(args: argparse.Namespace) -> str:
    from adapters.clickhouse.ready_queries import ready_query

    sources = [s for s in (args.query, args.file, args.ready) if s]
    if len(sources) != 1:
        raise CliError("give exactly one of: QUERY, --file PATH, --ready NAME", 2)
    if args.ready:
        try:
            return ready_query(args.ready)
        except KeyError as exc:
            raise CliError(str(exc.args[0]), 2) from exc
    if args.file:
        try:
            return Path(args.file).read_text()
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}", 2) from exc
    return str(sys.stdin.read() if args.query == "-" else args.query)


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    try:
        params = parse_params(args.param)
        sql = query_text(args)
        for name, when in (("from", args.since), ("to", args.until)):  # the period's bounds
            if "{" + name + ":" in sql:
                params.setdefault(name, _iso(when))
        result = make_runner(args, settings)(sql, params)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    print(render(result, args.format))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from entrypoints.cli.report_html import render_report, report_queries

    try:
        run = make_runner(args, settings)
        period = {"from": _iso(args.since), "to": _iso(args.until)}
        results = {name: run(sql, period) for name, sql in report_queries().items()}
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    page = render_report(results, since=args.since, until=args.until, title=args.title)
    Path(args.output).write_text(page)
    print(f"wrote {args.output} ({len(page) // 1024} KiB)")
    return 0


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _connection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where to run")
    g.add_argument("--key", help="admin or analyst API key (default: SB_API_KEY)")
    g.add_argument("--url", help="API base URL (default: http://SB_HOST:SB_PORT)")
    g.add_argument(
        "--project",
        metavar="UUID",
        help="without --key: run directly for this project (ClickHouse server only)",
    )


def _period(p: argparse.ArgumentParser) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    p.add_argument(
        "--from",
        dest="since",
        metavar="TIME",
        type=iso_time,
        default=now - timedelta(days=1),
        help="start of the period, inclusive (ISO 8601, UTC unless a zone is given; "
        "default: 24 hours ago)",
    )
    p.add_argument(
        "--to",
        dest="until",
        metavar="TIME",
        type=iso_time,
        default=now,
        help="end, exclusive (default: now)",
    )


def add_parsers(sub: Any) -> None:
    s = sub.add_parser(
        "sql",
        help="run a read-only SQL query over your project's analytics",
        description="Run one read-only SELECT over your project's ClickHouse facts: events, "
        "calls, call_events, call_outcomes_per_minute, campaign_results_per_minute "
        "(schemas/clickhouse/README.md). You only ever see your project's rows. "
        "Parameters are {name:Type}; {project_id:UUID} is always your project.",
        epilog="examples:\n"
        "  switchboard sql 'SELECT status, count() FROM calls GROUP BY status'\n"
        "  switchboard sql --ready answer_rate --from 2026-03-01 --to 2026-03-02 "
        "--format csv\n"
        "  switchboard sql --from 2026-03-01 \\\n"
        "    'SELECT count() FROM events WHERE recorded_at >= {from:DateTime64(3)}'\n"
        "{from:...} and {to:...} take --from/--to; other parameters take --param.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("query", nargs="?", help="the SELECT to run ('-' reads standard input)")
    s.add_argument("--file", help="read the query from this file")
    s.add_argument("--ready", metavar="NAME", help="a ready query (schemas/clickhouse/queries)")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a query parameter (repeatable)",
    )
    s.add_argument("--format", choices=FORMATS, default="table", help="output (default table)")
    _period(s)
    _connection(s)
    s.set_defaults(func=cmd_sql)

    r = sub.add_parser(
        "report",
        help="render the key metrics to one self-contained HTML page with charts",
        description="Answer rate, ASR and ACD, outcomes per hour, the status funnel, time "
        "to answer, projection latency, reconcile drift and cost, for one project and "
        "period, as one HTML file with inline SVG charts (no network needed to view it).",
    )
    _period(r)
    r.add_argument("--output", "-o", default="report.html", help="file to write")
    r.add_argument("--title", default="Switchboard analytics", help="page title")
    _connection(r)
    r.set_defaults(func=cmd_report)
