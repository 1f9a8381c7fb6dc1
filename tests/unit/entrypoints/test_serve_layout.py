"""`serve` names its components and projections exactly; `up` leaves none out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from entrypoints.cli.main import build_parser, main
from entrypoints.workers.layout import BACKGROUND_NICE, PROJECTIONS, UP_COMPONENTS


def _only(component: list[str]) -> list[str]:
    args = build_parser().parse_args(["serve", *component])
    return list(args.only or [])


def test_up_runs_every_projection_exactly_once_besides_the_api_and_a_worker() -> None:
    named = [n for c in UP_COMPONENTS if c[0] == "projections" for n in _only(c)]
    assert sorted(named) == sorted(PROJECTIONS)
    assert ["api"] in UP_COMPONENTS
    assert ["worker", "--no-projections"] in UP_COMPONENTS
    for component in UP_COMPONENTS:  # every one is what `serve` accepts
        build_parser().parse_args(["serve", *component])


def test_an_unknown_projection_is_refused_with_the_names_that_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "projections", "--only", "call_view"])
    assert exited.value.code == 2
    assert "calls_view" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "api", "--only", "calls_view"], "--only is for `serve projections`"),
        (["serve", "projections", "--no-projections"], "--no-projections is for `serve worker`"),
    ],
)
def test_options_of_another_component_are_refused(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere.invalid/none")
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_compose_runs_the_same_processes_as_up() -> None:
    compose = yaml.safe_load((Path(__file__).parents[3] / "compose.yaml").read_text())
    commands = [
        service["command"][2:]
        for service in compose["services"].values()
        if service.get("command", [])[:2] == ["switchboard", "serve"]
    ]
    assert sorted(commands) == sorted(UP_COMPONENTS)


def test_up_runs_the_views_no_one_watches_live_at_lower_priority_the_live_path_at_full() -> None:
    nice = {
        tuple(_only(c)) or (c[0],): build_parser().parse_args(["serve", *c]).nice
        for c in UP_COMPONENTS
    }
    assert nice.pop(("calls_view",)) == 0
    assert nice.pop(("api",)) == 0
    assert nice.pop(("worker",)) == 0
    assert list(nice.values()) == [BACKGROUND_NICE]
    assert BACKGROUND_NICE > 0


@pytest.mark.parametrize("nice", ["-1", "20", "x"])
def test_a_nice_outside_what_a_process_may_take_is_refused(
    nice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "projections", "--nice", nice])
    assert exited.value.code == 2
    assert "--nice" in capsys.readouterr().err
