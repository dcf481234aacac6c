"""The working-day calendar of the county (DOMAIN.md T8): national + Xinjiang rest days.

Three layers answer "is this date a working day?", first match wins:

1. overrides: rows of `calendar_override` (Xinjiang 肉孜节/古尔邦节, or national days of a year
   the package does not know yet). When two regions override the same date, the regional row
   beats the national one.
2. the `chinese_calendar` package: national holidays and 调休 make-up working days of the
   years it ships (it raises NotImplementedError outside them).
3. fallback: Monday to Friday. Used for a year with neither package data nor any override of
   region 'national'; such days are marked `fallback` so deadline callers attach a warning.

`WorkCalendar` is pure and immutable; the session functions below are the only DB access, and
they flush but never commit. Nothing here knows about deadlines.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import chinese_calendar
from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import extract
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.db import Base
from engine.errors import Conflict
from engine.errors import DomainRuleViolation
from engine.errors import NotFound
from engine.models import UTCDateTime
from engine.models import utcnow

NATIONAL = "national"
SHIPPED_OVERRIDES_PATH = Path(__file__).parent / "data" / "xinjiang_holidays.json"

# Chinese labels of the day reasons; the package names some holidays in short form (清明).
REASON_WEEKEND = "周末"
REASON_WORKDAY = "工作日"
REASON_MAKEUP_WORKDAY = "调休上班"
_PACKAGE_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
}
_REGION_LABELS = {"xinjiang": "新疆"}
# Full-width parentheses are what Chinese readers expect in the reason text.
_REGION_SUFFIX = "（{}）"  # noqa: RUF001


class DaySource(StrEnum):
    PACKAGE = "package"
    OVERRIDE = "override"
    FALLBACK = "fallback"


class OverrideKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


class Origin(StrEnum):
    """Who owns a row: the shipped data file (updated by `db upgrade`) or an administrator."""

    SHIPPED = "shipped"
    ADMIN = "admin"


class CalendarOverride(Base):
    """One date whose status differs from the package: a regional holiday or a known future day."""

    __tablename__ = "calendar_override"
    __table_args__ = (UniqueConstraint("day", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[OverrideKind] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(40), default=NATIONAL)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="system")
    origin: Mapped[Origin] = mapped_column(String(10), default=Origin.ADMIN)
    # 文号 of the notice the row comes from (国办发明电 2026 no. 7 and the like).
    notice_no: Mapped[str | None] = mapped_column(String(100))


class CalendarYear(Base):
    """Who owns the overrides of one year in one region, and the notice they come from.

    A year of origin `shipped` is kept equal to the shipped data file by `db upgrade`; the
    first administrator edit (add, remove or a notice import) makes it `admin`, and the shipped
    data never touches it again.
    """

    __tablename__ = "calendar_year"
    __table_args__ = (UniqueConstraint("year", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(40))
    origin: Mapped[Origin] = mapped_column(String(10))
    notice_no: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


class OverrideLike(Protocol):
    """What `WorkCalendar` reads from an override: an ORM row or an `OverrideEntry`."""

    @property
    def day(self) -> date: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...


@dataclass(frozen=True)
class OverrideEntry:
    """A plain override value (from the shipped JSON, or detached from a row)."""

    day: date
    kind: OverrideKind
    name: str
    region: str = NATIONAL
    source: str | None = None


@dataclass(frozen=True)
class DayInfo:
    """Status of one date: working or not, why (Chinese), and which layer said so."""

    day: date
    working: bool
    reason: str
    source: DaySource


@functools.cache
def package_covers(year: int) -> bool:
    """Whether the installed chinese_calendar has the national schedule of `year`."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _override_reason(entry: OverrideLike) -> str:
    if entry.region == NATIONAL:
        return entry.name
    return entry.name + _REGION_SUFFIX.format(_REGION_LABELS.get(entry.region, entry.region))


def _package_info(day: date) -> DayInfo:
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    if name is None:
        reason = REASON_WEEKEND if on_holiday else REASON_WORKDAY
    elif on_holiday:
        reason = _PACKAGE_HOLIDAY_NAMES.get(name) or chinese_calendar.Holiday(name).chinese
    else:
        reason = REASON_MAKEUP_WORKDAY
    return DayInfo(day, not on_holiday, reason, DaySource.PACKAGE)


def _weekday_info(day: date, source: DaySource) -> DayInfo:
    if day.weekday() >= 5:
        return DayInfo(day, False, REASON_WEEKEND, source)
    return DayInfo(day, True, REASON_WORKDAY, source)


class WorkCalendar:
    """Immutable answer to "is this a working day, and why" for any date."""

    __slots__ = ("_national_years", "_overrides")

    def __init__(self, overrides: Iterable[OverrideLike] = ()) -> None:
        # National rows first so that a regional row for the same date replaces them.
        ordered = sorted(overrides, key=lambda o: (o.day, o.region != NATIONAL, o.region))
        self._overrides: dict[date, DayInfo] = {
            o.day: DayInfo(
                o.day, o.kind == OverrideKind.WORKDAY, _override_reason(o), DaySource.OVERRIDE
            )
            for o in ordered
        }
        self._national_years = frozenset(o.day.year for o in ordered if o.region == NATIONAL)

    def day_info(self, day: date) -> DayInfo:
        """Status of `day`; `source` is `fallback` when only the Monday-Friday rule applied."""
        found = self._overrides.get(day)
        if found is not None:
            return found
        if package_covers(day.year):
            return _package_info(day)
        if day.year in self._national_years:
            return _weekday_info(day, DaySource.OVERRIDE)
        return _weekday_info(day, DaySource.FALLBACK)

    def is_working_day(self, day: date) -> bool:
        return self.day_info(day).working

    def next_working_day(self, day: date, *, limit_days: int = 366) -> date:
        """The first working day on or after `day`.

        Raises:
            ValueError: no working day within `limit_days` (a corrupt override table).
        """
        for offset in range(limit_days):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {limit_days} days after {day.isoformat()}")


def _expand(entry: dict[str, str]) -> list[OverrideEntry]:
    first = date.fromisoformat(entry["start"])
    last = date.fromisoformat(entry.get("end", entry["start"]))
    return [
        OverrideEntry(
            day=first + timedelta(days=offset),
            kind=OverrideKind(entry["kind"]),
            name=entry["name"],
            region=entry["region"],
            source=entry.get("source"),
        )
        for offset in range((last - first).days + 1)
    ]


@functools.cache
def shipped_overrides() -> tuple[OverrideEntry, ...]:
    """The Xinjiang regional holidays shipped in deadlines/data/xinjiang_holidays.json, per day."""
    raw = json.loads(SHIPPED_OVERRIDES_PATH.read_text(encoding="utf-8"))
    return tuple(day for entry in raw["entries"] for day in _expand(entry))


def default_calendar() -> WorkCalendar:
    """The calendar without a database: the package plus the shipped Xinjiang holidays."""
    return WorkCalendar(shipped_overrides())


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    """Override rows ordered by date then region, optionally only those of one year."""
    query = select(CalendarOverride).order_by(CalendarOverride.day, CalendarOverride.region)
    if year is not None:
        query = query.where(extract("year", CalendarOverride.day) == year)
    return list(session.scalars(query))


def load_calendar(session: Session) -> WorkCalendar:
    """The county's calendar: the package plus every override row."""
    return WorkCalendar(list_overrides(session))


def _find_override(session: Session, day: date, region: str) -> CalendarOverride | None:
    query = select(CalendarOverride).where(
        CalendarOverride.day == day, CalendarOverride.region == region
    )
    return session.scalars(query).first()


def _validated_kind(kind: str, name: str, region: str) -> OverrideKind:
    errors: dict[str, str] = {}
    if kind not in set(OverrideKind):
        errors["kind"] = f"kind must be one of {', '.join(OverrideKind)}"
    if not name.strip():
        errors["name"] = "name is required"
    if not region.strip():
        errors["region"] = "region is required"
    if errors:
        raise DomainRuleViolation("invalid calendar override", errors)
    return OverrideKind(kind)


def add_override(
    session: Session, *, day: date, kind: str, name: str, region: str = NATIONAL, actor: str
) -> CalendarOverride:
    """Record that `day` is a holiday or a working day in `region`.

    Raises:
        DomainRuleViolation: unknown kind, or empty name or region.
        Conflict: an override for that day and region exists already.
    """
    checked_kind = _validated_kind(kind, name, region)
    if _find_override(session, day, region) is not None:
        raise Conflict(f"calendar override for {day.isoformat()} in {region} exists already")
    row = CalendarOverride(
        day=day, kind=checked_kind, name=name.strip(), region=region, created_by=actor
    )
    session.add(row)
    claim_year(session, year=day.year, region=region, actor=actor)
    session.flush()
    return row


def remove_override(
    session: Session, *, day: date, region: str = NATIONAL, actor: str = "admin"
) -> None:
    """Delete the override of `day` in `region`.

    Raises:
        NotFound: there is no such override.
    """
    row = _find_override(session, day, region)
    if row is None:
        raise NotFound(f"no calendar override for {day.isoformat()} in {region}")
    session.delete(row)
    claim_year(session, year=day.year, region=region, actor=actor)
    session.flush()


def find_year(session: Session, year: int, region: str) -> CalendarYear | None:
    query = select(CalendarYear).where(CalendarYear.year == year, CalendarYear.region == region)
    return session.scalars(query).first()


def claim_year(
    session: Session, *, year: int, region: str, actor: str, notice_no: str | None = None
) -> CalendarYear:
    """Mark the year of a region as edited by an administrator: shipped data leaves it alone."""
    row = find_year(session, year, region)
    if row is None:
        row = CalendarYear(year=year, region=region, updated_by=actor)
        session.add(row)
    row.origin = Origin.ADMIN
    row.updated_by = actor
    row.updated_at = utcnow()
    if notice_no is not None:
        row.notice_no = notice_no
    return row
