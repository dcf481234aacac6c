"""The systemd units in docs/deploy restart their process always and run real commands."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from engine.commands import main as cli
from web import serve

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
UNITS = {"xietong-scheduler.service": ["scheduler"], "xietong-web@.service": ["serve"]}


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / name, encoding="utf-8")
    return unit


@pytest.mark.parametrize(("name", "command"), UNITS.items())
def test_unit_restarts_always_and_runs_a_real_xietong_command(
    name: str, command: list[str]
) -> None:
    unit = read_unit(name)
    executable, *arguments = shlex.split(unit["Service"]["ExecStart"].replace("%i", "8001"))

    assert unit["Service"]["Restart"] == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert executable.endswith("/xietong")
    assert arguments[: len(command)] == command
    parsed = cli.build_parser((serve,)).parse_args(arguments)  # exits on unknown options
    assert parsed.command == command[0]
