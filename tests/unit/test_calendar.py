"""The working-day calendar: package data, overrides, fallback, and the override table."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.commands import deadline as deadline_cli
from engine.db import make_engine
from engine.deadlines.calendar import DaySource
from engine.deadlines.calendar import OverrideEntry
from engine.deadlines.calendar import OverrideKind
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import add_override
from engine.deadlines.calendar import default_calendar
from engine.deadlines.calendar import list_overrides
from engine.deadlines.calendar import load_calendar
from engine.deadlines.calendar import package_covers
from engine.deadlines.calendar import remove_override
from engine.deadlines.calendar import shipped_overrides
from engine.deadlines.shipped import sync_shipped_overrides
from engine.errors import Conflict
from engine.errors import DomainRuleViolation
from engine.errors import NotFound
from engine.model_registry import metadata
from engine.settings import Settings


@pytest.fixture
def db_engine() -> Iterator[Engine]:
    engine = make_engine(Settings(database_url="sqlite://"))
    metadata().create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine) as session:
        yield session


@pytest.mark.parametrize(
    ("day", "working", "reason", "source"),
    [
        (date(2026, 2, 14), True, "调休上班", DaySource.PACKAGE),
        (date(2026, 2, 17), False, "春节", DaySource.PACKAGE),
        (date(2026, 2, 28), True, "调休上班", DaySource.PACKAGE),
        (date(2026, 4, 5), False, "清明节", DaySource.PACKAGE),
        (date(2026, 9, 20), True, "调休上班", DaySource.PACKAGE),
        (date(2026, 10, 1), False, "国庆节", DaySource.PACKAGE),
        (date(2026, 10, 10), True, "调休上班", DaySource.PACKAGE),
        (date(2026, 3, 7), False, "周末", DaySource.PACKAGE),
        (date(2026, 3, 9), True, "工作日", DaySource.PACKAGE),
        (date(2025, 3, 31), False, "肉孜节（新疆）", DaySource.OVERRIDE),
        (date(2025, 6, 9), False, "古尔邦节（新疆）", DaySource.OVERRIDE),
        (date(2027, 1, 1), True, "工作日", DaySource.FALLBACK),
        (date(2027, 1, 2), False, "周末", DaySource.FALLBACK),
    ],
)
def test_day_info_of_the_default_calendar(
    day: date, working: bool, reason: str, source: DaySource
) -> None:
    info = default_calendar().day_info(day)

    assert (info.day, info.working, info.reason, info.source) == (day, working, reason, source)
    assert default_calendar().is_working_day(day) is working


def test_package_covers_2026_but_not_2027() -> None:
    assert package_covers(2026)
    assert not package_covers(2027)


def test_override_wins_over_the_package() -> None:
    calendar = WorkCalendar(
        [
            OverrideEntry(date(2026, 3, 9), OverrideKind.HOLIDAY, "测试假日"),
            OverrideEntry(date(2026, 10, 7), OverrideKind.WORKDAY, "调休上班"),
        ]
    )

    assert calendar.day_info(date(2026, 3, 9)).reason == "测试假日"
    assert not calendar.is_working_day(date(2026, 3, 9))
    assert calendar.is_working_day(date(2026, 10, 7))
    assert calendar.day_info(date(2026, 10, 7)).source == DaySource.OVERRIDE


def test_regional_override_beats_national_override_of_the_same_day() -> None:
    calendar = WorkCalendar(
        [
            OverrideEntry(date(2027, 3, 10), OverrideKind.HOLIDAY, "肉孜节", "xinjiang"),
            OverrideEntry(date(2027, 3, 10), OverrideKind.WORKDAY, "调休上班", "national"),
        ]
    )

    assert calendar.day_info(date(2027, 3, 10)).reason == "肉孜节（新疆）"
    assert not calendar.is_working_day(date(2027, 3, 10))


def test_national_override_in_a_year_without_package_data_ends_the_fallback() -> None:
    calendar = WorkCalendar([OverrideEntry(date(2027, 1, 1), OverrideKind.HOLIDAY, "元旦")])

    assert calendar.day_info(date(2027, 1, 1)).working is False
    assert calendar.day_info(date(2027, 1, 4)).source == DaySource.OVERRIDE
    assert calendar.day_info(date(2028, 1, 4)).source == DaySource.FALLBACK


def test_regional_override_alone_keeps_the_national_fallback() -> None:
    calendar = WorkCalendar(
        [OverrideEntry(date(2027, 3, 10), OverrideKind.HOLIDAY, "肉孜节", "xinjiang")]
    )

    assert calendar.day_info(date(2027, 3, 10)).source == DaySource.OVERRIDE
    assert calendar.day_info(date(2027, 3, 11)).source == DaySource.FALLBACK


def test_next_working_day_skips_the_spring_festival() -> None:
    assert default_calendar().next_working_day(date(2026, 2, 15)) == date(2026, 2, 24)
    assert default_calendar().next_working_day(date(2026, 2, 24)) == date(2026, 2, 24)


def test_next_working_day_gives_up_on_a_calendar_without_working_days() -> None:
    calendar = WorkCalendar(
        [OverrideEntry(date(2026, 3, day), OverrideKind.HOLIDAY, "停工") for day in (9, 10)]
    )

    with pytest.raises(ValueError, match="no working day within 2 days"):
        calendar.next_working_day(date(2026, 3, 9), limit_days=2)


def test_shipped_2025_xinjiang_holidays_match_the_notice() -> None:
    days_2025 = {(e.day, e.name, e.source) for e in shipped_overrides() if e.day.year == 2025}

    assert days_2025 == {
        *((date(2025, 3, d), "肉孜节", "S") for d in (29, 30, 31)),
        *((date(2025, 6, d), "古尔邦节", "S") for d in (6, 7, 8, 9, 10)),
    }
    assert {e.region for e in shipped_overrides()} == {"xinjiang"}


def test_shipped_2026_xinjiang_holidays_match_the_notice() -> None:
    # The notice as reported (cited in the data file): 肉孜节 3/20-22, 古尔邦节 5/27-31.
    days_2026 = {(e.day, e.name, e.source) for e in shipped_overrides() if e.day.year == 2026}

    assert days_2026 == {
        *((date(2026, 3, d), "肉孜节", "S") for d in (20, 21, 22)),
        *((date(2026, 5, d), "古尔邦节", "S") for d in (27, 28, 29, 30, 31)),
    }


def test_add_list_and_remove_overrides(session: Session) -> None:
    added = add_override(
        session,
        day=date(2027, 3, 10),
        kind="holiday",
        name="肉孜节",
        region="xinjiang",
        actor="admin",
    )
    add_override(session, day=date(2027, 1, 1), kind="holiday", name="元旦", actor="admin")

    assert added.id is not None
    assert added.created_by == "admin"
    assert added.created_at.tzinfo is not None
    assert added.created_at.utcoffset() == UTC.utcoffset(None)
    assert [(o.day, o.region) for o in list_overrides(session)] == [
        (date(2027, 1, 1), "national"),
        (date(2027, 3, 10), "xinjiang"),
    ]
    assert list_overrides(session, year=2026) == []

    remove_override(session, day=date(2027, 1, 1), region="national")

    assert [o.name for o in list_overrides(session, year=2027)] == ["肉孜节"]


def test_adding_the_same_day_and_region_twice_is_a_conflict(session: Session) -> None:
    add_override(session, day=date(2027, 1, 1), kind="holiday", name="元旦", actor="admin")

    with pytest.raises(Conflict, match="2027-01-01 in national exists already"):
        add_override(session, day=date(2027, 1, 1), kind="workday", name="上班", actor="admin")


def test_the_same_day_may_be_overridden_in_two_regions(session: Session) -> None:
    add_override(session, day=date(2027, 1, 1), kind="holiday", name="元旦", actor="a")
    add_override(
        session, day=date(2027, 1, 1), kind="holiday", name="元旦", region="xinjiang", actor="a"
    )

    assert len(list_overrides(session)) == 2


def test_invalid_override_names_the_bad_fields(session: Session) -> None:
    with pytest.raises(DomainRuleViolation) as caught:
        add_override(session, day=date(2027, 1, 1), kind="rest", name=" ", actor="admin")

    assert set(caught.value.field_errors) == {"kind", "name"}
    assert list_overrides(session) == []


def test_removing_a_missing_override_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="2027-01-01 in xinjiang"):
        remove_override(session, day=date(2027, 1, 1), region="xinjiang")


def test_load_calendar_applies_the_table(session: Session) -> None:
    add_override(
        session, day=date(2026, 3, 9), kind="holiday", name="测试假日", region="xinjiang", actor="a"
    )

    calendar = load_calendar(session)

    assert calendar.day_info(date(2026, 3, 9)).reason == "测试假日（新疆）"
    assert calendar.is_working_day(date(2026, 3, 10))


def test_shipped_sync_is_idempotent_and_leaves_an_admin_year_alone(session: Session) -> None:
    add_override(
        session, day=date(2025, 3, 29), kind="holiday", name="肉孜节", region="xinjiang", actor="a"
    )
    shipped_2026 = [e for e in shipped_overrides() if e.day.year == 2026]

    first = sync_shipped_overrides(session)
    second = sync_shipped_overrides(session)

    assert first == {e.day for e in shipped_2026}
    assert second == set()
    assert [row.day for row in list_overrides(session, 2025)] == [date(2025, 3, 29)]
    assert len(list_overrides(session, 2026)) == len(shipped_2026)
    assert load_calendar(session).is_working_day(date(2025, 6, 10))
    assert not load_calendar(session).is_working_day(date(2026, 5, 27))


@pytest.fixture
def cli_db(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    factory = sessionmaker(bind=db_engine, expire_on_commit=False)

    @contextmanager
    def scope() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    monkeypatch.setattr(deadline_cli, "session_scope", scope)
    return factory


def test_calendar_cli_add_list_remove(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    add = argparse.Namespace(
        date=date(2027, 3, 10), kind="holiday", name="肉孜节", region="xinjiang"
    )
    assert deadline_cli.run_calendar_add(add) == 0
    assert deadline_cli.run_calendar_add(add) == 1
    assert deadline_cli.run_calendar_list(argparse.Namespace(year=2027)) == 0
    listed = capsys.readouterr()
    assert listed.out.splitlines() == [
        "added 2027-03-10 holiday xinjiang 肉孜节",
        "2027-03-10 holiday xinjiang 肉孜节",
    ]
    assert "exists already" in listed.err

    remove = argparse.Namespace(date=date(2027, 3, 10), region="xinjiang")
    assert deadline_cli.run_calendar_remove(remove) == 0
    assert deadline_cli.run_calendar_remove(remove) == 1
    removed = capsys.readouterr()
    assert removed.out == "removed 2027-03-10 xinjiang\n"
    assert "no calendar override" in removed.err
    with cli_db() as check:
        assert list_overrides(check) == []


def test_calendar_cli_parses_its_arguments() -> None:
    parser = argparse.ArgumentParser()
    deadline_cli.register(parser.add_subparsers(dest="command", required=True))

    args = parser.parse_args(
        ["calendar", "add", "2027-06-16", "--kind", "holiday", "--name", "古尔邦节"]
    )

    assert args.handler is deadline_cli.run_calendar_add
    assert (args.date, args.kind, args.name, args.region) == (
        date(2027, 6, 16),
        "holiday",
        "古尔邦节",
        "national",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["calendar", "add", "2027-06-16", "--kind", "rest", "--name", "x"])
