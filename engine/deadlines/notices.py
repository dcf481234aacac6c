"""A year's holiday notice (放假通知) entered at once, and which years still lack one.

A notice is what the State Council (region `national`) or the autonomous region (`xinjiang`)
publishes for one year: holiday ranges, 调休 make-up working days and the notice's 文号.
`build_notice` validates raw values into a `Notice` (every problem at once, as
`InvalidNotice`); `import_notice` replaces that year's overrides of the region with the
notice's days and marks the year as administrator-owned, so shipped data never overwrites it.
The text formats (JSON, CSV, the admin form's lines) are parsed in `notice_formats`.

`missing_next_year` answers the reminder from 1 November: does next year lack national or
Xinjiang data? Flushes, never commits; nothing here knows about deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

from sqlalchemy import extract
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.calendar import NATIONAL
from engine.deadlines.calendar import CalendarOverride
from engine.deadlines.calendar import Origin
from engine.deadlines.calendar import OverrideKind
from engine.deadlines.calendar import claim_year
from engine.deadlines.calendar import package_covers
from engine.errors import DomainRuleViolation

XINJIANG = "xinjiang"
REGIONS = (NATIONAL, XINJIANG)
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TEXT = 100
MAX_RANGE_DAYS = 31
# The month from which next year's missing data is announced.
REMINDER_MONTH = 11


@dataclass(frozen=True)
class NoticeProblem:
    """One problem of a notice: the field (`year`, `holidays`...), a stable code, the line."""

    field: str
    code: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.field} line {self.line}" if self.line is not None else self.field
        return f"{where}: {self.code}"


class InvalidNotice(DomainRuleViolation):
    """A notice that cannot be imported; `problems` lists each one."""

    code = "invalid_notice"

    def __init__(self, problems: Sequence[NoticeProblem]) -> None:
        super().__init__(
            "invalid holiday notice: " + "; ".join(str(p) for p in problems),
            {p.field: p.code for p in problems},
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class NoticeDay:
    day: date
    kind: OverrideKind
    name: str


@dataclass(frozen=True)
class Notice:
    """A validated notice: every day it names, one entry per date."""

    year: int
    region: str
    notice_no: str
    days: tuple[NoticeDay, ...]


@dataclass(frozen=True)
class RawRange:
    """One holiday range or make-up day as read from a file or form, not yet checked."""

    line: int | None
    name: str
    start: str
    end: str = ""


@dataclass
class _Checker:
    problems: list[NoticeProblem] = field(default_factory=list)

    def add(self, where: str, code: str, line: int | None = None) -> None:
        self.problems.append(NoticeProblem(where, code, line))

    def year(self, raw: object) -> int | None:
        text = str(raw).strip() if raw is not None else ""
        if not text.isdigit() or not MIN_YEAR <= int(text) <= MAX_YEAR:
            self.add("year", "bad_year")
            return None
        return int(text)

    def text(self, where: str, raw: str, line: int | None = None) -> str:
        value = raw.strip()
        if not value:
            self.add(where, "required", line)
        elif len(value) > MAX_TEXT:
            self.add(where, "too_long", line)
        return value

    def day(self, where: str, raw: str, year: int | None, line: int | None) -> date | None:
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            self.add(where, "bad_date", line)
            return None
        if year is not None and not _near_year(value, year):
            self.add(where, "outside_year", line)
            return None
        return value


def _near_year(day: date, year: int) -> bool:
    """In the year, or in the December before or January after (a range over New Year)."""
    return date(year - 1, 12, 1) <= day <= date(year + 1, 1, 31)


def _range_days(
    check: _Checker, where: str, raw: RawRange, year: int | None, kind: OverrideKind
) -> list[NoticeDay]:
    name = check.text(where, raw.name, raw.line)
    first = check.day(where, raw.start, year, raw.line)
    last = check.day(where, raw.end, year, raw.line) if raw.end.strip() else first
    if first is None or last is None or not name or len(name) > MAX_TEXT:
        return []
    if kind == OverrideKind.WORKDAY and last != first:
        check.add(where, "workday_range", raw.line)
        return []
    if not 0 <= (last - first).days < MAX_RANGE_DAYS:
        check.add(where, "bad_range", raw.line)
        return []
    count = (last - first).days + 1
    return [NoticeDay(first + timedelta(days=i), kind, name) for i in range(count)]


def build_notice(
    *,
    year: object,
    region: str,
    notice_no: str,
    holidays: Sequence[RawRange],
    workdays: Sequence[RawRange],
) -> Notice:
    """A checked notice from raw values.

    Raises:
        InvalidNotice: with every problem found (bad year, unknown region, missing 文号,
            bad or out-of-year dates, a date named twice, nothing to import).
    """
    check = _Checker()
    checked_year = check.year(year)
    if region not in REGIONS:
        check.add("region", "unknown_region")
    number = check.text("notice_no", notice_no)
    days: list[NoticeDay] = []
    for raw in holidays:
        days += _range_days(check, "holidays", raw, checked_year, OverrideKind.HOLIDAY)
    for raw in workdays:
        days += _range_days(check, "workdays", raw, checked_year, OverrideKind.WORKDAY)
    seen: set[date] = set()
    for item in days:
        if item.day in seen:
            check.add("holidays", "duplicate_day")
            break
        seen.add(item.day)
    if not holidays and not check.problems:
        check.add("holidays", "empty")
    if check.problems or checked_year is None:
        raise InvalidNotice(check.problems)
    return Notice(checked_year, region, number, tuple(sorted(days, key=lambda d: d.day)))


def import_notice(session: Session, notice: Notice, *, actor: str) -> set[date]:
    """Replace the region's overrides of the notice's year with the notice's days.

    Rows of other regions stay. Returns the dates whose kind or name changed.
    """
    days = {item.day for item in notice.days}
    old = list(
        session.scalars(
            select(CalendarOverride).where(
                CalendarOverride.region == notice.region,
                or_(
                    extract("year", CalendarOverride.day) == notice.year,
                    CalendarOverride.day.in_(days),
                ),
            )
        )
    )
    before = {row.day: (str(row.kind), row.name) for row in old}
    for row in old:
        session.delete(row)
    session.flush()
    for item in notice.days:
        session.add(
            CalendarOverride(
                day=item.day,
                kind=item.kind,
                name=item.name,
                region=notice.region,
                created_by=actor,
                origin=Origin.ADMIN,
                notice_no=notice.notice_no,
            )
        )
    claim_year(
        session, year=notice.year, region=notice.region, actor=actor, notice_no=notice.notice_no
    )
    session.flush()
    after = {item.day: (str(item.kind), item.name) for item in notice.days}
    return {day for day in before.keys() | after.keys() if before.get(day) != after.get(day)}


@dataclass(frozen=True)
class MissingData:
    """A year without national or without Xinjiang holiday data."""

    year: int
    national: bool
    xinjiang: bool


def _has_rows(session: Session, year: int, region: str) -> bool:
    query = select(CalendarOverride.id).where(
        extract("year", CalendarOverride.day) == year, CalendarOverride.region == region
    )
    return session.scalar(query.limit(1)) is not None


def missing_data(session: Session, year: int) -> MissingData | None:
    """What `year` lacks: national data (package or overrides) or Xinjiang overrides."""
    national = not package_covers(year) and not _has_rows(session, year, NATIONAL)
    xinjiang = not _has_rows(session, year, XINJIANG)
    return MissingData(year, national, xinjiang) if national or xinjiang else None


def missing_next_year(session: Session, today: date) -> MissingData | None:
    """From 1 November (legal date `today`): next year's missing data, else None."""
    if today.month < REMINDER_MONTH:
        return None
    return missing_data(session, today.year + 1)
