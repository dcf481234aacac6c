"""Shipped holiday data on upgrade: new years arrive, shipped years follow, admin years stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from engine.db import make_engine
from engine.deadlines.calendar import Origin
from engine.deadlines.calendar import OverrideEntry
from engine.deadlines.calendar import OverrideKind
from engine.deadlines.calendar import find_year
from engine.deadlines.calendar import list_overrides
from engine.deadlines.calendar import remove_override
from engine.deadlines.shipped import sync_shipped_overrides
from engine.model_registry import metadata
from engine.settings import Settings


@pytest.fixture
def session() -> Iterator[Session]:
    engine = make_engine(Settings(database_url="sqlite://"))
    metadata().create_all(engine)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def holiday(day: date, name: str = "古尔邦节") -> OverrideEntry:
    return OverrideEntry(day, OverrideKind.HOLIDAY, name, "xinjiang")


def days(session: Session, year: int) -> list[tuple[date, str, str]]:
    return [(r.day, r.name, r.origin) for r in list_overrides(session, year)]


def test_a_newer_data_file_adds_its_year_and_corrects_a_shipped_year(session: Session) -> None:
    sync_shipped_overrides(session, [holiday(date(2030, 4, 1)), holiday(date(2030, 4, 2))])

    changed = sync_shipped_overrides(
        session,
        [holiday(date(2030, 4, 2), "肉孜节"), holiday(date(2031, 3, 20))],
    )

    assert changed == {date(2030, 4, 1), date(2030, 4, 2), date(2031, 3, 20)}
    assert days(session, 2030) == [(date(2030, 4, 2), "肉孜节", Origin.SHIPPED)]
    assert days(session, 2031) == [(date(2031, 3, 20), "古尔邦节", Origin.SHIPPED)]
    year_row = find_year(session, 2031, "xinjiang")
    assert year_row is not None and year_row.origin == Origin.SHIPPED


def test_a_year_an_admin_edited_is_never_touched_again(session: Session) -> None:
    sync_shipped_overrides(session, [holiday(date(2030, 4, 1)), holiday(date(2030, 4, 2))])
    remove_override(session, day=date(2030, 4, 1), region="xinjiang", actor="admin")

    changed = sync_shipped_overrides(
        session, [holiday(date(2030, 4, 1)), holiday(date(2030, 4, 3)), holiday(date(2031, 1, 5))]
    )

    assert changed == {date(2031, 1, 5)}
    assert days(session, 2030) == [(date(2030, 4, 2), "古尔邦节", Origin.SHIPPED)]
    year_row = find_year(session, 2030, "xinjiang")
    assert year_row is not None and year_row.origin == Origin.ADMIN
