"""How `switchboard sql` prints a result: aligned table, CSV and JSON, NULLs kept apart."""

from __future__ import annotations

import csv
import io
import json

from entrypoints.cli.analytics import render

RESULT = {
    "columns": ["campaign", "calls", "p50_p95_ms"],
    "types": ["String", "UInt64", "Array(Int64)"],
    "rows": [["spring", 12, [40, 95]], [None, 3, []]],
}


def test_table_right_aligns_numbers_and_shows_null() -> None:
    lines = render(RESULT, "table").splitlines()
    assert lines[0] == "campaign  calls  p50_p95_ms"
    assert lines[2] == "spring       12  [40, 95]"
    assert lines[3] == "NULL          3  []"
    assert lines[-1] == "(2 rows)"


def test_csv_leaves_null_empty() -> None:
    rows = list(csv.reader(io.StringIO(render(RESULT, "csv"))))
    assert rows == [
        ["campaign", "calls", "p50_p95_ms"],
        ["spring", "12", "[40, 95]"],
        ["", "3", "[]"],
    ]


def test_json_is_one_object_per_row_with_null() -> None:
    assert json.loads(render(RESULT, "json")) == [
        {"campaign": "spring", "calls": 12, "p50_p95_ms": [40, 95]},
        {"campaign": None, "calls": 3, "p50_p95_ms": []},
    ]
