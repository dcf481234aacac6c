"""Deadline rules, due and warning moments, pausable clocks and the `deadline` command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from engine.commands import deadline as deadline_cli
from engine.db import make_engine
from engine.deadlines.calendar import CalendarOverride
from engine.deadlines.calendar import OverrideEntry
from engine.deadlines.calendar import OverrideKind
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import add_override
from engine.deadlines.calendar import default_calendar
from engine.deadlines.clocks import CaseClock
from engine.deadlines.clocks import ClockStatus
from engine.deadlines.rules import Rule
from engine.deadlines.rules import Unit
from engine.deadlines.rules import add_months
from engine.deadlines.rules import compute_deadline
from engine.deadlines.rules import deadline_for_task
from engine.deadlines.rules import parse_rule
from engine.deadlines.rules import resolve_unit
from engine.errors import Conflict
from engine.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = default_calendar()
FALLBACK_2027 = (
    "2027 年节假日数据缺失，按周一至周五计算 (no holiday data for 2027; counted Monday to Friday)"
)
SPRING_2026 = [f"2026-02-{d}" for d in range(15, 24)]
BASIS_60 = "《行政处罚法》第六十条"
NATIONAL_DAY_2026 = [f"2026-10-0{d}" for d in range(1, 8)]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3wd", Rule(3, Unit.WD)),
        (" 24H ", Rule(24, Unit.H)),
        ("90cd", Rule(90, Unit.CD)),
        ("6mo", Rule(6, Unit.MO)),
    ],
)
def test_parse_rule_accepts_value_and_unit(text: str, expected: Rule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid deadline rule"),
        ("3", "invalid deadline rule"),
        ("wd", "invalid deadline rule"),
        ("1.5h", "invalid deadline rule"),
        ("-1cd", "invalid deadline rule"),
        ("3d", "unknown deadline unit 'd'; expected one of cd, wd, h, mo"),
        ("0cd", "must be a positive integer"),
    ],
)
def test_parse_rule_rejects_bad_rules_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rule(text)


def test_rule_text_forms() -> None:
    assert str(Rule(3, Unit.WD)) == "3wd"
    assert Rule(3, Unit.WD).text == "3个工作日"


@pytest.mark.parametrize(
    ("start", "rule", "due", "skipped"),
    [
        # Spring Festival 2026: 2/15-2/23 off, Saturdays 2/14 and 2/28 are make-up working days.
        ("2026-02-12T10:00", "1wd", "2026-02-13T23:59:59.999999+08:00", []),
        ("2026-02-12T10:00", "2wd", "2026-02-14T23:59:59.999999+08:00", []),
        ("2026-02-12T10:00", "3wd", "2026-02-24T23:59:59.999999+08:00", SPRING_2026),
        ("2026-02-12T10:00", "3cd", "2026-02-24T23:59:59.999999+08:00", SPRING_2026),
        ("2026-02-11T10:00", "3cd", "2026-02-14T23:59:59.999999+08:00", []),
        # National Day 2026: 10/1-10/7 off, 9/20 (Sun) and 10/10 (Sat) are working days.
        ("2026-09-28T09:00", "5wd", "2026-10-10T23:59:59.999999+08:00", NATIONAL_DAY_2026),
        ("2026-09-30T09:00", "1cd", "2026-10-08T23:59:59.999999+08:00", NATIONAL_DAY_2026),
        ("2026-09-18T09:00", "2cd", "2026-09-20T23:59:59.999999+08:00", []),
        (
            "2026-03-06T09:00",
            "1cd",
            "2026-03-09T23:59:59.999999+08:00",
            ["2026-03-07", "2026-03-08"],
        ),
        # Hours are never moved, even onto a holiday.
        ("2026-02-14T22:30", "24h", "2026-02-15T22:30:00+08:00", []),
        ("2026-02-14T23:59", "2h", "2026-02-15T01:59:00+08:00", []),
        # Months: same date or month end, then the rest-day roll-forward.
        ("2026-01-31T10:00", "1mo", "2026-02-28T23:59:59.999999+08:00", []),
        ("2025-01-31T10:00", "1mo", "2025-02-28T23:59:59.999999+08:00", []),
        ("2024-01-31T10:00", "1mo", "2024-02-29T23:59:59.999999+08:00", []),
        ("2026-03-31T10:00", "2mo", "2026-06-01T23:59:59.999999+08:00", ["2026-05-31"]),
        (
            "2023-08-31T10:00",
            "1mo",
            "2023-10-07T23:59:59.999999+08:00",
            ["2023-09-30", *(f"2023-10-0{d}" for d in range(1, 7))],
        ),
        # Xinjiang regional holidays from the override data.
        (
            "2025-06-05T10:00",
            "1wd",
            "2025-06-11T23:59:59.999999+08:00",
            [f"2025-06-{d:02d}" for d in range(6, 11)],
        ),
    ],
)
def test_due_moments(start: str, rule: str, due: str, skipped: list[str]) -> None:
    deadline = compute_deadline(local(start), parse_rule(rule), CALENDAR)

    assert deadline.to_dict()["due"] == due
    assert deadline.due.tzinfo is UTC
    assert [item["date"] for item in deadline.skipped] == skipped
    assert deadline.warnings == []


def test_trigger_day_is_taken_in_beijing_time() -> None:
    # 17:30 UTC on 2/12 is 01:30 on Friday 2/13 in Beijing: day 1 is Saturday 2/14 (make-up).
    start = datetime(2026, 2, 12, 17, 30, tzinfo=UTC)

    deadline = compute_deadline(start, parse_rule("1wd"), CALENDAR)

    assert deadline.to_dict()["due"] == "2026-02-14T23:59:59.999999+08:00"


def test_skipped_days_carry_their_reasons() -> None:
    deadline = compute_deadline(local("2026-05-26T10:00"), parse_rule("2wd"), CALENDAR)

    assert deadline.to_dict()["due"] == "2026-06-02T23:59:59.999999+08:00"
    assert deadline.skipped == [
        {"date": "2026-05-27", "reason": "古尔邦节（新疆）"},
        {"date": "2026-05-28", "reason": "古尔邦节（新疆）"},
        {"date": "2026-05-29", "reason": "古尔邦节（新疆）"},
        {"date": "2026-05-30", "reason": "古尔邦节（新疆）"},
        {"date": "2026-05-31", "reason": "古尔邦节（新疆）"},
    ]


def test_override_table_holiday_is_skipped_in_a_working_day_count() -> None:
    calendar = WorkCalendar(
        [OverrideEntry(date(2026, 6, 9), OverrideKind.HOLIDAY, "古尔邦节", "xinjiang")]
    )

    deadline = compute_deadline(local("2026-06-08T10:00"), parse_rule("1wd"), calendar)

    assert deadline.to_dict()["due"] == "2026-06-10T23:59:59.999999+08:00"
    assert deadline.skipped == [{"date": "2026-06-09", "reason": "古尔邦节（新疆）"}]


def test_rolling_into_a_year_without_data_falls_back_with_a_warning() -> None:
    deadline = compute_deadline(local("2026-12-30T10:00"), parse_rule("3wd"), CALENDAR)

    assert deadline.to_dict()["due"] == "2027-01-04T23:59:59.999999+08:00"
    assert deadline.skipped == [
        {"date": "2027-01-02", "reason": "周末"},
        {"date": "2027-01-03", "reason": "周末"},
    ]
    assert deadline.warnings == [FALLBACK_2027]


def test_hour_deadline_in_a_year_without_data_has_no_warning() -> None:
    deadline = compute_deadline(local("2027-01-01T10:00"), parse_rule("24h"), CALENDAR)

    assert deadline.warnings == []


@pytest.mark.parametrize(
    ("start", "rule", "warn_at"),
    [
        # Two-thirds of the period comes first.
        ("2026-02-12T10:00", "3wd", "2026-02-20T19:19:00+08:00"),
        ("2026-09-30T09:00", "1cd", "2026-10-06T02:59:00+08:00"),
        # The whole last working day is warned even when two-thirds is later.
        ("2026-03-09T10:00", "1cd", "2026-03-10T00:00:00+08:00"),
        ("2026-02-12T17:30:00+08:00", "1wd", "2026-02-13T00:00:00+08:00"),
        # Hours: the last third.
        ("2026-02-14T22:30", "24h", "2026-02-15T14:30:00+08:00"),
        ("2026-03-09T10:00", "3h", "2026-03-09T12:00:00+08:00"),
    ],
)
def test_warn_at(start: str, rule: str, warn_at: str) -> None:
    moment = datetime.fromisoformat(start)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)

    deadline = compute_deadline(moment, parse_rule(rule), CALENDAR)

    assert deadline.to_dict()["warn_at"] == warn_at
    assert deadline.warn_at < deadline.due


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        compute_deadline(datetime(2026, 3, 9, 10), parse_rule("1cd"), CALENDAR)  # noqa: DTZ001


def test_to_dict_is_a_json_able_explanation() -> None:
    deadline = compute_deadline(
        local("2026-09-30T09:00"),
        parse_rule("3cd"),
        CALENDAR,
        basis="《行政执法机关移送涉嫌犯罪案件的规定》第五条",
        evidence="V",
        deadline_id="A1-T2",
    )

    explained = json.loads(json.dumps(deadline.to_dict(), ensure_ascii=False))

    assert explained == {
        "start": "2026-09-30T09:00:00+08:00",
        "rule": "3cd",
        "unit": "cd",
        "unit_text": "3日",
        "due": "2026-10-08T23:59:59.999999+08:00",
        "warn_at": "2026-10-06T02:59:00+08:00",
        "skipped": [{"date": d, "reason": "国庆节"} for d in NATIONAL_DAY_2026[2:]],
        "warnings": [],
        "basis": "《行政执法机关移送涉嫌犯罪案件的规定》第五条",
        "evidence": "V",
        "deadline_id": "A1-T2",
    }


@pytest.mark.parametrize(
    ("year", "month", "day", "months", "expected"),
    [
        (2026, 1, 31, 1, date(2026, 2, 28)),
        (2024, 1, 31, 1, date(2024, 2, 29)),
        (2026, 11, 30, 3, date(2027, 2, 28)),
        (2026, 12, 15, 1, date(2027, 1, 15)),
        (2026, 5, 31, 12, date(2027, 5, 31)),
    ],
)
def test_add_months(year: int, month: int, day: int, months: int, expected: date) -> None:
    assert add_months(date(year, month, day), months) == expected


@pytest.mark.parametrize(
    ("unit", "unit_setting", "mode", "expected"),
    [
        ("wd", None, "cd", Unit.WD),
        ("h", "", "cd", Unit.H),
        (None, "transfer_rule_3d_mode", "cd", Unit.CD),
        ("h", "transfer_rule_3d_mode", "wd", Unit.WD),
    ],
)
def test_resolve_unit(
    unit: str | None, unit_setting: str | None, mode: str, expected: Unit
) -> None:
    settings = Settings(transfer_rule_3d_mode=mode)

    assert resolve_unit(unit, unit_setting, settings) is expected


def test_transfer_rule_mode_defaults_to_calendar_days() -> None:
    assert resolve_unit(None, "transfer_rule_3d_mode", Settings()) is Unit.CD


@pytest.mark.parametrize(
    ("unit", "unit_setting", "mode", "message"),
    [
        (None, None, "cd", "deadline_unit or deadline_unit_setting is required"),
        ("days", None, "cd", "unknown deadline unit 'days'"),
        (None, "secret_key", "cd", "unknown deadline_unit_setting 'secret_key'"),
        (None, "transfer_rule_3d_mode", "h", "must be cd or wd"),
    ],
)
def test_resolve_unit_errors(
    unit: str | None, unit_setting: str | None, mode: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_unit(unit, unit_setting, Settings(transfer_rule_3d_mode=mode))


READY_AT = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 Monday in Beijing


def test_task_without_deadline_properties_has_no_deadline() -> None:
    result = deadline_for_task(
        {"legal_basis": "x"}, ready_at=READY_AT, data={}, calendar=CALENDAR, settings=Settings()
    )

    assert result is None


def test_task_deadline_runs_from_the_data_key() -> None:
    properties = {
        "deadline_value": "3",
        "deadline_unit_setting": "transfer_rule_3d_mode",
        "deadline_from": "approved_at",
        "deadline_basis": "国务院令第310号第五条",
        "deadline_evidence": "V",
        "deadline_id": "A1-T2",
    }
    data = {"approved_at": "2026-09-28T16:00:00+08:00"}

    deadline = deadline_for_task(
        properties, ready_at=READY_AT, data=data, calendar=CALENDAR, settings=Settings()
    )

    assert deadline is not None
    assert deadline.rule == Rule(3, Unit.CD)
    assert deadline.to_dict()["start"] == "2026-09-28T16:00:00+08:00"
    assert deadline.to_dict()["due"] == "2026-10-08T23:59:59.999999+08:00"
    assert (deadline.basis, deadline.evidence, deadline.deadline_id) == (
        "国务院令第310号第五条",
        "V",
        "A1-T2",
    )


@pytest.mark.parametrize("value", [None, "not a date", "2026-09-28T16:00:00", 17])
def test_task_deadline_falls_back_to_ready_at(value: object) -> None:
    properties = {"deadline_value": "1", "deadline_unit": "wd", "deadline_from": "approved_at"}

    deadline = deadline_for_task(
        properties,
        ready_at=READY_AT,
        data={"approved_at": value},
        calendar=CALENDAR,
        settings=Settings(),
    )

    assert deadline is not None
    assert deadline.start == READY_AT
    assert deadline.to_dict()["due"] == "2026-03-10T23:59:59.999999+08:00"
    assert len(deadline.warnings) == 1
    assert "approved_at" in deadline.warnings[0]


def test_task_deadline_with_a_bad_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="deadline_value must be a positive integer"):
        deadline_for_task(
            {"deadline_value": "three", "deadline_unit": "wd"},
            ready_at=READY_AT,
            data={},
            calendar=CALENDAR,
            settings=Settings(),
        )


def clock(rule: str) -> CaseClock:
    return CaseClock(id="case_90", rule=parse_rule(rule), basis=BASIS_60)


def test_clock_has_no_due_before_it_starts_or_while_paused() -> None:
    fresh = clock("10cd")
    paused = fresh.start(local("2026-03-02T10:00")).pause(local("2026-03-03T10:00"))

    assert fresh.due(CALENDAR) is None
    assert paused.status is ClockStatus.PAUSED
    assert paused.due(CALENDAR) is None


def test_running_clock_due_equals_the_plain_deadline() -> None:
    started = clock("10cd").start(local("2026-03-02T10:00"))

    due = started.due(CALENDAR)

    assert due is not None
    assert due.due == compute_deadline(local("2026-03-02T10:00"), parse_rule("10cd"), CALENDAR).due
    assert (due.deadline_id, due.basis) == ("case_90", BASIS_60)


@pytest.mark.parametrize(
    ("rule", "pauses", "due"),
    [
        # cd: two midnights (3/5, 3/6) inside the pause move 3/12 to 3/14 (Sat) -> Monday 3/16.
        ("10cd", [("2026-03-04T15:00", "2026-03-06T09:00")], "2026-03-16T23:59:59.999999+08:00"),
        # A pause within one day moves a day deadline by nothing.
        ("10cd", [("2026-03-04T09:00", "2026-03-04T17:00")], "2026-03-12T23:59:59.999999+08:00"),
        # wd: Fri 3/6 to Mon 3/9 enters Sat, Sun, Mon; only Monday is a working day: 3/9 -> 3/10.
        ("5wd", [("2026-03-06T10:00", "2026-03-09T09:00")], "2026-03-10T23:59:59.999999+08:00"),
        # h: the paused duration (3.5 h) is added.
        ("24h", [("2026-03-02T12:00", "2026-03-02T15:30")], "2026-03-03T13:30:00+08:00"),
        # Two pauses add up.
        (
            "24h",
            [("2026-03-02T11:00", "2026-03-02T12:00"), ("2026-03-02T13:00", "2026-03-02T14:00")],
            "2026-03-03T12:00:00+08:00",
        ),
        # mo: 3/2 + 1 month = 4/2, two paused days -> 4/4 (清明节) -> 4/7.
        ("1mo", [("2026-03-04T15:00", "2026-03-06T09:00")], "2026-04-07T23:59:59.999999+08:00"),
    ],
)
def test_paused_time_is_excluded(rule: str, pauses: list[tuple[str, str]], due: str) -> None:
    running = clock(rule).start(local("2026-03-02T10:00"))
    for paused_at, resumed_at in pauses:
        running = running.pause(local(paused_at)).resume(local(resumed_at))

    result = running.due(CALENDAR)

    assert result is not None
    assert result.to_dict()["due"] == due


def test_stopping_a_paused_clock_ends_the_pause() -> None:
    paused = clock("24h").start(local("2026-03-02T10:00")).pause(local("2026-03-02T12:00"))

    stopped = paused.stop(local("2026-03-02T13:00"))

    assert stopped.status is ClockStatus.STOPPED
    assert stopped.stopped_at == local("2026-03-02T13:00")
    result = stopped.due(CALENDAR)
    assert result is not None
    assert result.to_dict()["due"] == "2026-03-03T11:00:00+08:00"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda c: c.pause(local("2026-03-02T11:00")), "cannot pause while not_started"),
        (lambda c: c.start(local("2026-03-02T10:00")).resume(local("2026-03-02T11:00")), "resume"),
        (
            lambda c: c.start(local("2026-03-02T10:00")).start(local("2026-03-02T11:00")),
            "cannot start while running",
        ),
        (
            lambda c: (
                c.start(local("2026-03-02T10:00"))
                .stop(local("2026-03-02T11:00"))
                .pause(local("2026-03-02T12:00"))
            ),
            "cannot pause while stopped",
        ),
        (
            lambda c: (
                c.start(local("2026-03-02T10:00"))
                .pause(local("2026-03-02T11:00"))
                .pause(local("2026-03-02T12:00"))
            ),
            "cannot pause while paused",
        ),
    ],
)
def test_clock_refuses_actions_out_of_order(action: object, message: str) -> None:
    with pytest.raises(Conflict, match=message):
        action(clock("10cd"))  # type: ignore[operator]


def test_clock_refuses_events_back_in_time() -> None:
    started = clock("10cd").start(local("2026-03-02T10:00"))

    with pytest.raises(ValueError, match="before"):
        started.pause(local("2026-03-02T09:00"))


def test_clock_round_trips_through_json() -> None:
    original = (
        clock("5wd")
        .start(local("2026-03-02T10:00"))
        .pause(local("2026-03-03T10:00"))
        .resume(local("2026-03-04T10:00"))
        .pause(local("2026-03-05T10:00"))
    )

    restored = CaseClock.from_dict(json.loads(json.dumps(original.to_dict())))

    assert restored == original
    assert original.to_dict()["pauses"][-1] == ["2026-03-05T02:00:00+00:00", None]


def test_clock_from_a_process_manifest_entry() -> None:
    spec = {"value": 90, "unit": "cd", "basis": BASIS_60, "evidence": "V"}

    defined = CaseClock.define("case_90", spec)

    assert defined == CaseClock("case_90", Rule(90, Unit.CD), basis=BASIS_60, evidence="V")
    assert defined.status is ClockStatus.NOT_STARTED


def cli_args(start: str, rule: str, *, as_json: bool = False) -> argparse.Namespace:
    return argparse.Namespace(start=start, rule=rule, json=as_json, no_db=True)


def test_deadline_command_prints_due_and_skipped_days(capsys: pytest.CaptureFixture[str]) -> None:
    assert deadline_cli.run_deadline(cli_args("2026-09-30T09:00", "1cd")) == 0

    assert capsys.readouterr().out.splitlines() == [
        "2026-10-08T23:59:59.999999+08:00",
        *(f"{d} 国庆节" for d in NATIONAL_DAY_2026),
    ]


def test_deadline_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert deadline_cli.run_deadline(cli_args("2026-12-31T01:00:00Z", "2wd", as_json=True)) == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "due": "2027-01-04T23:59:59.999999+08:00",
        "skipped": [
            {"date": "2027-01-02", "reason": "周末"},
            {"date": "2027-01-03", "reason": "周末"},
        ],
        "warnings": [FALLBACK_2027],
    }


def test_deadline_command_rejects_a_bad_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert deadline_cli.run_deadline(cli_args("2026-09-30T09:00", "3days")) == 2

    assert capsys.readouterr().err == (
        "error: unknown deadline unit 'days'; expected one of cd, wd, h, mo\n"
    )


def test_deadline_command_reads_the_database_calendar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(Settings(database_url="sqlite://"))
    for table in ("calendar_override", "calendar_year"):
        CalendarOverride.metadata.tables[table].create(engine)
    with Session(engine) as session, session.begin():
        add_override(session, day=date(2026, 3, 10), kind="holiday", name="测试", actor="t")

    @contextmanager
    def scope() -> Iterator[Session]:
        with Session(engine) as session, session.begin():
            yield session

    monkeypatch.setattr(deadline_cli, "session_scope", scope)
    args = argparse.Namespace(start="2026-03-09T10:00", rule="1wd", json=False, no_db=False)

    assert deadline_cli.run_deadline(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-11T23:59:59.999999+08:00",
        "2026-03-10 测试",
    ]
    engine.dispose()


def test_deadline_command_without_the_table_uses_shipped_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(Settings(database_url="sqlite://"))

    @contextmanager
    def scope() -> Iterator[Session]:
        with Session(engine) as session, session.begin():
            yield session

    monkeypatch.setattr(deadline_cli, "session_scope", scope)
    args = argparse.Namespace(start="2025-06-05T10:00", rule="1wd", json=False, no_db=False)

    assert deadline_cli.run_deadline(args) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "2025-06-11T23:59:59.999999+08:00"
    assert "database calendar unavailable" in captured.err
    engine.dispose()


def test_deadline_command_parses_its_arguments() -> None:
    parser = argparse.ArgumentParser()
    deadline_cli.register(parser.add_subparsers(dest="command", required=True))

    args = parser.parse_args(["deadline", "2026-09-30T09:00", "3cd", "--json"])

    assert args.handler is deadline_cli.run_deadline
    assert (args.start, args.rule, args.json, args.no_db) == (
        "2026-09-30T09:00",
        "3cd",
        True,
        False,
    )
