"""Keeping the shipped Xinjiang holidays (deadlines/data/xinjiang_holidays.json) in the database.

`sync_shipped_overrides` runs on every `xietong db upgrade` (and in the demo). Per year and
region of the shipped file:

- a year the database has never seen gets the shipped rows (origin `shipped`) and a
  `calendar_year` row of origin `shipped`; a day that already has a row (an administrator's)
  keeps it;
- a year still of origin `shipped` is made equal to the file: missing days are added, changed
  ones updated, days the file no longer lists removed (only rows of origin `shipped`);
- a year an administrator edited (origin `admin`) is never touched.

So running it twice changes nothing, and a newer data file adds its new years. Flushes, never
commits; returns the dates whose status changed, for deadline recomputation.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable
from datetime import date

from sqlalchemy import extract
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.calendar import SHIPPED_OVERRIDES_PATH
from engine.deadlines.calendar import CalendarOverride
from engine.deadlines.calendar import CalendarYear
from engine.deadlines.calendar import Origin
from engine.deadlines.calendar import OverrideEntry
from engine.deadlines.calendar import find_year
from engine.deadlines.calendar import shipped_overrides

logger = logging.getLogger(__name__)

SHIPPED_ACTOR = "shipped"


@functools.cache
def shipped_notice_numbers() -> dict[tuple[int, str], str | None]:
    """(year, region) → 文号 of the notice the shipped rows of that year come from, if known."""
    raw = json.loads(SHIPPED_OVERRIDES_PATH.read_text(encoding="utf-8"))
    return {(n["year"], n["region"]): n.get("notice_no") for n in raw.get("notices", [])}


def _groups(entries: Iterable[OverrideEntry]) -> dict[tuple[int, str], list[OverrideEntry]]:
    groups: dict[tuple[int, str], list[OverrideEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.day.year, entry.region), []).append(entry)
    return groups


def _rows_of_year(session: Session, year: int, region: str) -> dict[date, CalendarOverride]:
    query = select(CalendarOverride).where(
        extract("year", CalendarOverride.day) == year, CalendarOverride.region == region
    )
    return {row.day: row for row in session.scalars(query)}


def _new_row(entry: OverrideEntry, notice_no: str | None) -> CalendarOverride:
    return CalendarOverride(
        day=entry.day,
        kind=entry.kind,
        name=entry.name,
        region=entry.region,
        created_by=SHIPPED_ACTOR,
        origin=Origin.SHIPPED,
        notice_no=notice_no,
    )


def _sync_year(
    session: Session, entries: list[OverrideEntry], rows: dict[date, CalendarOverride]
) -> set[date]:
    """Make the shipped rows of one year equal `entries`; admin rows are left alone."""
    year, region = entries[0].day.year, entries[0].region
    notice_no = shipped_notice_numbers().get((year, region))
    changed: set[date] = set()
    wanted = {entry.day: entry for entry in entries}
    for day, entry in wanted.items():
        row = rows.get(day)
        if row is None:
            session.add(_new_row(entry, notice_no))
            changed.add(day)
        elif row.origin == Origin.SHIPPED and (row.kind, row.name) != (entry.kind, entry.name):
            row.kind, row.name, row.notice_no = entry.kind, entry.name, notice_no
            changed.add(day)
    for day, row in rows.items():
        if row.origin == Origin.SHIPPED and day not in wanted:
            session.delete(row)
            changed.add(day)
    return changed


def sync_shipped_overrides(
    session: Session, entries: Iterable[OverrideEntry] | None = None
) -> set[date]:
    """Bring the shipped years into the database (see the module docstring).

    `entries` defaults to the shipped data file. Returns the dates whose status changed.
    """
    changed: set[date] = set()
    for (year, region), group in sorted(
        _groups(shipped_overrides() if entries is None else entries).items()
    ):
        year_row = find_year(session, year, region)
        if year_row is not None and year_row.origin == Origin.ADMIN:
            continue
        if year_row is None:
            session.add(
                CalendarYear(
                    year=year,
                    region=region,
                    origin=Origin.SHIPPED,
                    notice_no=shipped_notice_numbers().get((year, region)),
                    updated_by=SHIPPED_ACTOR,
                )
            )
        changed |= _sync_year(session, group, _rows_of_year(session, year, region))
    session.flush()
    if changed:
        logger.info("shipped calendar data changed %d dates", len(changed))
    return changed
