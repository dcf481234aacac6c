"""The `xietong` console commands, run as a real process against a temporary database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "engine"


def xietong(*args: str, database: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XIETONG_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    xietong("db", "upgrade", database=path, check=True)
    return path


def test_workflows_check_passes_the_shipped_models(database: Path) -> None:
    result = xietong("workflows", "check", "workflows", database=database)
    assert result.returncode == 0, result.stdout
    # Only warnings (exclusive gateways whose conditions the forms make exhaustive).
    assert all(": warning: " in line for line in result.stdout.splitlines()), result.stdout


def test_workflows_check_reports_file_line_element_and_exits_1(
    database: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.bpmn"
    text = (FIXTURES / "script_failure" / "script_failure.bpmn").read_text(encoding="utf-8")
    broken.write_text(text.replace("share = base // parts", "share = ("), encoding="utf-8")
    result = xietong("workflows", "check", str(broken), database=database)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r".+broken\.bpmn:[1-9]\d*: compute_share: script: syntax error.*", lines[0])


def test_deploy_twice_is_a_no_op_the_second_time(database: Path) -> None:
    first = xietong("workflows", "deploy", database=database, check=True)
    second = xietong("workflows", "deploy", database=database, check=True)
    assert "criminal_transfer version 1 deployed" in first.stdout
    assert "criminal_transfer version 1 unchanged" in second.stdout


def test_deadline_prints_iso_due_and_json(database: Path) -> None:
    text = xietong("deadline", "2026-09-30T10:00", "3wd", database=database, check=True)
    assert text.stdout.splitlines()[0] == "2026-10-10T23:59:59.999999+08:00"
    assert "2026-10-01 国庆节" in text.stdout
    as_json = xietong("deadline", "2026-09-30T10:00", "3wd", "--json", database=database)
    body = json.loads(as_json.stdout)
    assert body["due"] == "2026-10-10T23:59:59.999999+08:00"
    assert {"date": "2026-10-07", "reason": "国庆节"} in body["skipped"]
    assert body["warnings"] == []


def test_org_list_and_user_create(database: Path) -> None:
    xietong("workflows", "deploy", database=database, check=True)
    created = xietong(
        "user", "create", "cli_officer", "--org", "NONE", "--role", "officer", database=database
    )
    assert created.returncode != 0
    assert xietong("org", "list", database=database, check=True).stdout == ""


def test_org_create_then_a_user_of_it(database: Path) -> None:
    created = xietong(
        "org", "create", "YJS-TEST", "--type", "agency", "--name", "县测试局", database=database
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == "created YJS-TEST\tagency\t县测试局\n"
    listed = xietong("org", "list", database=database, check=True)
    assert listed.stdout == "YJS-TEST\tagency\t县测试局\n"
    user = xietong(
        "user",
        "create",
        "test_officer",
        "--org",
        "YJS-TEST",
        "--role",
        "officer",
        database=database,
    )
    assert user.returncode == 0, user.stderr
    assert user.stdout.startswith("created test_officer\n")


def test_org_create_refuses_a_taken_code_and_a_bad_one(database: Path) -> None:
    args = ("--type", "township", "--name", "测试乡")
    xietong("org", "create", "TWP-TEST", *args, database=database, check=True)
    again = xietong("org", "create", "TWP-TEST", *args, database=database)
    assert again.returncode == 1
    assert "exists" in again.stderr
    bad = xietong("org", "create", "bad code", *args, database=database)
    assert bad.returncode == 1
    assert "code:" in bad.stderr


def test_retry_of_an_instance_that_is_not_in_error_is_refused(database: Path) -> None:
    result = xietong("instance", "retry", "999", database=database)
    assert result.returncode == 1
    assert "not found" in result.stderr
