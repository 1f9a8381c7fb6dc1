"""`lower_priority`: the process's nice, and its autogroup's only when the session is its own.

Each case runs in a child process: a nice value cannot be lowered again without privilege.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints import priority

SRC = Path(__file__).parents[3] / "src"
CHILD = """
import os, sys
from entrypoints.priority import autogroup_nice, lower_priority
before = (os.nice(0), autogroup_nice())
lower_priority(int(sys.argv[1]))
print(*before, os.nice(0), autogroup_nice())
"""


def run(steps: int, *, own_session: bool) -> tuple[int, int | None, int, int | None]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(steps)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        start_new_session=own_session,
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    out = child.stdout.split()
    nice, group, nice_after, group_after = (None if v == "None" else int(v) for v in out)
    assert nice is not None
    assert nice_after is not None
    return nice, group, nice_after, group_after


def test_a_session_leader_lowers_its_nice_and_its_own_autogroup() -> None:
    nice, group, nice_after, group_after = run(10, own_session=True)
    assert nice_after == min(19, nice + 10)
    # A kernel without autogroup (no /proc/self/autogroup) has only the nice to lower.
    assert group_after == (None if group is None else min(19, group + 10))


def test_a_process_in_its_callers_session_leaves_that_sessions_autogroup_alone() -> None:
    nice, group, nice_after, group_after = run(10, own_session=False)
    assert nice_after == min(19, nice + 10)
    assert group_after == group


def test_no_steps_changes_nothing() -> None:
    nice, group, nice_after, group_after = run(0, own_session=True)
    assert (nice_after, group_after) == (nice, group)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("/autogroup-123 nice 4\n", 4), ("", None), (None, None)],
    ids=["own group", "default group (empty file)", "no autogroup (no file)"],
)
def test_autogroup_nice_reads_the_groups_nice_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, expected: int | None
) -> None:
    # A process in the kernel's default autogroup reads an empty file: CI runs there.
    path = tmp_path / "autogroup"
    if content is not None:
        path.write_text(content)
    monkeypatch.setattr(priority, "AUTOGROUP", path)
    assert priority.autogroup_nice() == expected
