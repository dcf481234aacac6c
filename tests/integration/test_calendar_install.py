"""A production-style install (`db upgrade` + `workflows deploy`, no demo) and `calendar import`.

Runs the real `xietong` console commands on a fresh SQLite file. The deadlines across 肉孜节
and 古尔邦节 2026 are checked against the shipped data file, which cites the notice it follows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest

from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo.accounts import seed_demo_accounts
from engine.execution import definitions
from engine.settings import Settings
from tests.integration.workflows import test_criminal_transfer as transfer
from tests.integration.workflows.support import assert_deadline
from tests.integration.workflows.support import day_end

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "engine" / "deadlines" / "data" / "xinjiang_holidays.json"


def xietong(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XIETONG_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def shipped_days(year: int) -> dict[date, str]:
    """Date → name of every shipped Xinjiang holiday of `year`, read from the data file."""
    raw = json.loads(SHIPPED.read_text(encoding="utf-8"))
    days: dict[date, str] = {}
    for entry in raw["entries"]:
        first = date.fromisoformat(entry["start"])
        last = date.fromisoformat(entry["end"])
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            if day.year == year and entry["kind"] == "holiday":
                days[day] = entry["name"]
    return days


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("install") / "xietong.db"
    upgrade = xietong("db", "upgrade", database=database)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "shipped holiday data: 16 dates changed" in upgrade.stdout
    deploy = xietong("workflows", "deploy", database=database)
    assert deploy.returncode == 0, deploy.stdout
    return database


def test_upgrade_again_changes_no_shipped_date(installed: Path) -> None:
    again = xietong("db", "upgrade", database=installed)

    assert "shipped holiday data: 0 dates changed" in again.stdout
    listed = xietong("calendar", "list", "--year", "2026", database=installed).stdout.splitlines()
    assert listed == [
        f"{day.isoformat()} holiday xinjiang {name}" for day, name in shipped_days(2026).items()
    ]


@pytest.mark.parametrize(
    ("start", "rule", "due"),
    [
        # 肉孜节 2026: Friday 3/20 to Sunday 3/22.
        ("2026-03-17T10:00", "3cd", "2026-03-23"),  # day 3 is Friday 3/20, a holiday
        ("2026-03-19T10:00", "3wd", "2026-03-25"),
        ("2026-03-18T10:00", "7wd", "2026-03-30"),
        # 古尔邦节 2026: Wednesday 5/27 to Sunday 5/31.
        ("2026-05-26T10:00", "3cd", "2026-06-01"),
        ("2026-05-26T10:00", "3wd", "2026-06-03"),
        ("2026-05-22T10:00", "7wd", "2026-06-05"),
    ],
)
def test_periods_across_the_2026_xinjiang_holidays(
    installed: Path, start: str, rule: str, due: str
) -> None:
    result = xietong("deadline", start, rule, "--json", database=installed)

    body = json.loads(result.stdout)
    assert body["due"] == f"{due}T23:59:59.999999+08:00"
    assert body["warnings"] == []
    first, last = date.fromisoformat(start[:10]), date.fromisoformat(due)
    if rule.endswith("cd"):  # calendar days count holidays; only the roll of the last skips
        first += timedelta(days=int(rule[:-2]) - 1)
    expected = {
        day.isoformat(): f"{name}（新疆）"
        for day, name in shipped_days(2026).items()
        if first < day <= last
    }
    skipped_xinjiang = {
        item["date"]: item["reason"] for item in body["skipped"] if "新疆" in item["reason"]
    }
    assert expected
    assert skipped_xinjiang == expected


def test_the_deployed_transfer_process_counts_across_guerbang_2026(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed criminal_transfer model: 7 working days and 3 days across 古尔邦节 2026.

    Only the county's people are added (as an administrator would); the holidays come from
    `db upgrade` alone. Nothing is committed.
    """
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids of this database
    settings = Settings(database_url=f"sqlite:///{installed}", run_scheduler_in_process=False)
    engine = make_engine(settings)
    session = make_session_factory(engine)()
    try:
        seed_demo_accounts(session)
        case = transfer.start_case(session, "2026-05-22T08:30:00+08:00", settings)
        case.do("record_crime_suspicion", transfer.suspicion(), "2026-05-22T09:00:00+08:00")
        preserved = transfer.evidence(preserved_at="2026-05-22T09:15:00+08:00")
        case.do("preserve_evidence", preserved, "2026-05-22T09:30:00+08:00")
        # Fri 5/22 + 7 working days: (weekend) 5/25, 5/26, (古尔邦节 5/27-5/31) 6/1 ... 6/5.
        assert_deadline(
            case.expect("decide_registered_preservation"),
            start="2026-05-22T09:15:00+08:00",
            due=day_end("2026-06-05"),
            unit="wd",
            deadline_id="A1-T12",
            skipped=[f"2026-05-{day}" for day in (23, 24, 27, 28, 29, 30, 31)],
        )
        case.do("form_case_team", transfer.TEAM, "2026-05-22T10:00:00+08:00")
        case.do("draft_transfer_report", transfer.report(), "2026-05-26T10:00:00+08:00")
        # Tue 5/26 + 3 days is Fri 5/29, a holiday: rolled past 5/30-5/31 to Mon 6/1.
        assert_deadline(
            case.expect("head_decision"),
            start="2026-05-26T10:00:00+08:00",
            due=day_end("2026-06-01"),
            unit="cd",
            deadline_id="A1-T2",
            skipped=["2026-05-29", "2026-05-30", "2026-05-31"],
        )
    finally:
        session.rollback()
        session.close()
        engine.dispose()


NOTICE_2027 = {
    "year": 2027,
    "region": "national",
    "notice_no": "国办发明电（2026）99号",
    "holidays": [
        {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
        {"name": "春节", "start": "2027-02-05", "end": "2027-02-11"},
    ],
    "workdays": [{"name": "春节调休", "date": "2027-02-13"}],
}


def test_import_json_notice_then_periods_of_that_year_have_no_fallback(
    tmp_path: Path,
) -> None:
    database = tmp_path / "import.db"
    assert xietong("db", "upgrade", database=database).returncode == 0
    before = json.loads(
        xietong("deadline", "2027-02-04T10:00", "3wd", "--json", database=database).stdout
    )
    assert before["warnings"] and "2027" in before["warnings"][0]
    notice = tmp_path / "notice.json"
    notice.write_text(json.dumps(NOTICE_2027, ensure_ascii=False), encoding="utf-8")

    imported = xietong("calendar", "import", str(notice), database=database)

    assert imported.returncode == 0, imported.stderr
    assert "imported 2027 national 国办发明电（2026）99号: 11 dates, 11 changed" in imported.stdout
    after = json.loads(
        xietong("deadline", "2027-02-04T10:00", "3wd", "--json", database=database).stdout
    )
    # 2/5-2/11 off, Saturday 2/13 is a make-up working day: 2/12, 2/13, 2/15.
    assert after["due"] == "2027-02-15T23:59:59.999999+08:00"
    assert after["warnings"] == []


def test_import_csv_notice_and_its_errors(tmp_path: Path) -> None:
    database = tmp_path / "csv.db"
    assert xietong("db", "upgrade", database=database).returncode == 0
    good = tmp_path / "xj2027.csv"
    good.write_text(
        "kind,name,start,end\nholiday,肉孜节,2027-03-10,2027-03-12\nworkday,肉孜节调休,2027-03-14,\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,name,start,end\nholiday,肉孜节,2027-13-10,\n", encoding="utf-8")

    refused = xietong("calendar", "import", str(bad), "--year", "2027", database=database)
    ok = xietong(
        "calendar",
        "import",
        str(good),
        "--year",
        "2027",
        "--region",
        "xinjiang",
        "--notice-no",
        "新政办明电（2026）1号",
        database=database,
    )

    assert refused.returncode == 1
    assert "error: notice_no: required" in refused.stderr
    assert "error: holidays line 2: bad_date" in refused.stderr
    assert ok.returncode == 0, ok.stderr
    listed = xietong("calendar", "list", "--year", "2027", database=database).stdout
    assert listed.splitlines() == [
        "2027-03-10 holiday xinjiang 肉孜节",
        "2027-03-11 holiday xinjiang 肉孜节",
        "2027-03-12 holiday xinjiang 肉孜节",
        "2027-03-14 workday xinjiang 肉孜节调休",
    ]
