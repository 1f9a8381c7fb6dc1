"""The analytics report: ready-query results rendered as one self-contained HTML page.

Charts are inline SVG and the styles are inline, so the file opens offline and can be
mailed as is. Everything shown comes from the ready queries' results, escaped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from adapters.clickhouse.ready_queries import ready_query

SECTIONS = (
    "answer_rate",
    "outcomes_per_hour",
    "status_funnel",
    "time_to_answer",
    "projection_latency",
    "reconcile_drift",
    "late_enrichment",
    "cost_per_campaign",
)
COLORS = ("#2b6cb0", "#38a169", "#d69e2e", "#e53e3e", "#805ad5", "#718096", "#dd6b20")
STATUS_COLORS = {
    "completed": "#38a169",
    "busy": "#d69e2e",
    "no-answer": "#dd6b20",
    "failed": "#e53e3e",
    "canceled": "#718096",
}
Result = dict[str, Any]


def report_queries() -> dict[str, str]:
    return {name: ready_query(name) for name in SECTIONS}


def records(result: Result) -> list[dict[str, Any]]:
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def render_report(
    results: dict[str, Result], *, since: datetime, until: datetime, title: str
) -> str:
    total = next((r for r in records(results["answer_rate"]) if r["campaign"] == "*"), None)
    tta = (records(results["time_to_answer"]) or [{}])[0]
    latency = (records(results["projection_latency"]) or [{}])[0]
    costs = records(results["cost_per_campaign"])
    tiles = [
        ("Calls ended", _num(total and total["calls"])),
        ("ASR", _pct(total and total["asr"])),
        ("Answer rate", _pct(total and total["answer_rate"])),
        ("ACD", _secs(total and total["acd_seconds"])),
        ("Time to answer p50 / p95", _ms_pair(tta.get("p50_p90_p95_p99_ms"), 0, 2)),
        ("Webhook → analytics p95", _ms_pair(latency.get("store_to_projection_ms"), 2)),
        ("Cost", _cost_total(costs)),
    ]
    body = [
        f"<h1>{escape(title)}</h1>",
        f"<p class=period>{escape(_when(since))} – {escape(_when(until))} (UTC, end exclusive)</p>",
        '<div class="tiles">',
        *(f'<div class="tile"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in tiles),
        "</div>",
        _section(
            "Answer rate and ASR per campaign",
            _bars(
                [
                    (_campaign(r["campaign"]), float(r["asr"] or 0))
                    for r in records(results["answer_rate"])
                    if r["campaign"] != "*"
                ],
                _pct,
            ),
            results["answer_rate"],
        ),
        _section(
            "Outcomes per hour",
            _stacked(records(results["outcomes_per_hour"])),
            results["outcomes_per_hour"],
        ),
        _section(
            "Status funnel",
            _bars(
                [(r["stage"], float(r["calls"])) for r in records(results["status_funnel"])],
                _num,
            ),
            results["status_funnel"],
        ),
        _section("Time to answer", "", results["time_to_answer"]),
        _section("Webhook-to-projection latency", "", results["projection_latency"]),
        _section("Reconcile drift", "", results["reconcile_drift"]),
        _section("Late enrichment", "", results["late_enrichment"]),
        _section(
            "Cost per campaign",
            _bars(
                [
                    (f"{_campaign(r['campaign'])} {r['currency']}", float(Decimal(r["cost"])))
                    for r in costs
                    if r["currency"]
                ],
                lambda v: f"{v:,.2f}",
            ),
            results["cost_per_campaign"],
        ),
    ]
    return _PAGE.format(title=escape(title), body="\n".join(body))


def _section(heading: str, chart: str, result: Result) -> str:
    return f"<section><h2>{escape(heading)}</h2>{chart}{_table(result)}</section>"


def _table(result: Result) -> str:
    if not result["rows"]:
        return "<p class=empty>No data in this period.</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in result["columns"])
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in result["rows"]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _bars(items: list[tuple[str, float]], label: Any) -> str:
    """Horizontal bars, one per item, scaled to the largest value."""
    if not items:
        return ""
    top = max((v for _, v in items), default=0) or 1
    row, width = 26, 420
    parts = []
    for i, (name, value) in enumerate(items):
        y, w = i * row, max(1, round(width * value / top))
        parts.append(
            f'<text x="0" y="{y + 17}">{escape(name)}</text>'
            f'<rect x="160" y="{y + 4}" width="{w}" height="18" fill="{COLORS[0]}">'
            f"<title>{escape(name)}: {escape(label(value))}</title></rect>"
            f'<text x="{166 + w}" y="{y + 17}">{escape(label(value))}</text>'
        )
    return _svg(width + 260, row * len(items), "".join(parts))


def _stacked(rows: list[dict[str, Any]]) -> str:
    """One column per hour, stacked by status, with a legend."""
    if not rows:
        return ""
    hours = sorted({r["hour"] for r in rows})
    statuses = sorted({r["status"] for r in rows})
    counts = {(r["hour"], r["status"]): int(r["calls"]) for r in rows}
    top = max(sum(counts.get((h, s), 0) for s in statuses) for h in hours) or 1
    height, col = 180, max(14, min(48, 640 // len(hours)))
    parts = []
    for i, hour in enumerate(hours):
        y = float(height)
        for j, status in enumerate(statuses):
            n = counts.get((hour, status), 0)
            if n:
                h = height * n / top
                y -= h
                color = STATUS_COLORS.get(status, COLORS[j % len(COLORS)])
                parts.append(
                    f'<rect x="{i * col}" y="{y:.1f}" width="{col - 2}" height="{h:.1f}" '
                    f'fill="{color}"><title>{escape(hour[11:16])} {escape(status)}: {n}'
                    "</title></rect>"
                )
        parts.append(
            f'<text x="{i * col}" y="{height + 14}" font-size="10">{escape(hour[11:16])}</text>'
        )
    for j, status in enumerate(statuses):
        color = STATUS_COLORS.get(status, COLORS[j % len(COLORS)])
        x = j * 110
        parts.append(
            f'<rect x="{x}" y="{height + 24}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{height + 33}">{escape(status)}</text>'
        )
    return _svg(max(col * len(hours), 110 * len(statuses)), height + 40, "".join(parts))


def _svg(width: int, height: int, content: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-size="12">{content}</svg>'
    )


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _campaign(name: str) -> str:
    return name or "(no campaign)"


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.0f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def _secs(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f} s"


def _ms_pair(values: list[Any] | None, first: int, second: int | None = None) -> str:
    if not values:
        return "–"
    picked = [values[first]] if second is None else [values[first], values[second]]
    return " / ".join(f"{int(v):,} ms" for v in picked)


def _cost_total(costs: list[dict[str, Any]]) -> str:
    totals: dict[str, Decimal] = {}
    for r in costs:
        if r["currency"]:
            totals[r["currency"]] = totals.get(r["currency"], Decimal(0)) + Decimal(r["cost"])
    return ", ".join(f"{v:,.2f} {k}" for k, v in sorted(totals.items())) or "–"


def _when(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 960px;
       color: #1a202c; padding: 0 1rem; }}
h1 {{ margin-bottom: 0; }} .period {{ color: #4a5568; margin-top: .2rem; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: .75rem; margin: 1.5rem 0; }}
.tile {{ border: 1px solid #e2e8f0; border-radius: 8px; padding: .6rem 1rem; min-width: 9rem; }}
.tile b {{ display: block; font-size: 1.3rem; }} .tile span {{ color: #4a5568; }}
section {{ margin: 2rem 0; }} svg {{ display: block; margin: .5rem 0 1rem; max-width: 100%; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: .25rem .6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} .empty {{ color: #718096; }}
</style></head>
<body>
{body}
</body></html>
"""
