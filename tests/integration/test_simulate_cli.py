"""`switchboard simulate` as a user runs it: a clear error for bad shares, a JSON summary,
and the ground truth of every call leg in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from provider import NOWHERE

from entrypoints.cli.main import main

ARGS = ["simulate", "--url", NOWHERE, "--account-sid", "AC" + "3" * 32, "--auth-token", "t"]


def test_a_share_outside_0_1_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--drops", "1.5"]) == 2
    assert "drops must be a share between 0 and 1" in capsys.readouterr().err


def test_the_summary_and_the_truth_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.json"
    args = ["--calls", "8", "--rate", "200", "--speed", "500", "--seed", "5", "--drops", "0.5"]
    assert main([*ARGS, *args, "--truth", str(truth)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scenarios"] == 8
    assert summary["dropped"] > 0
    assert summary["rejected"] == summary["posted"]  # nobody listens at NOWHERE
    calls = json.loads(truth.read_text())["calls"]
    assert len(calls) == summary["call_legs"] >= 8
    assert all(
        c["status"] in {"completed", "busy", "no-answer", "failed", "canceled"}
        for c in calls.values()
    )
