"""Statutory deadlines (DOMAIN.md section 0 and T1-T10): rules and due moments.

Everything here is pure: callers pass the start moment and a `WorkCalendar`, and nothing reads
the clock or the database.

Representation of "the end of a day": 23:59:59.999999 Asia/Shanghai of that day (the instant
just before 24:00, DOMAIN T4/T9), stored as an aware UTC datetime. A task is overdue when
now > due. Outputs show it in Asia/Shanghai ISO 8601, e.g. 2026-02-24T23:59:59.999999+08:00.

Counting:
- cd: the day after the trigger day (Asia/Shanghai) is day 1; the deadline is the end of day N;
  a non-working last day rolls to the end of the next working day.
- wd: only working days after the trigger day are counted (调休 make-up days count).
- h: start + N hours exactly, never moved.
- mo: the same date N months later (or that month's last day), then rolled like cd.

Warning moment: for day units the earlier of two-thirds of the period and the start of the
due day (always a working day, so the whole last working day is warned); for h, due minus a
third of the period. It is rounded down to the whole minute.
"""

from __future__ import annotations

import calendar as month_calendar
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from engine.deadlines.calendar import DayInfo
from engine.deadlines.calendar import DaySource
from engine.deadlines.calendar import WorkCalendar
from engine.settings import Settings

logger = logging.getLogger(__name__)

LEGAL_TZ = ZoneInfo("Asia/Shanghai")
# A period longer than this many days is a modelling error, not a statute.
MAX_SCAN_DAYS = 3700
# Settings a process may name in `deadline_unit_setting` (DOMAIN T6).
UNIT_SETTINGS = frozenset({"transfer_rule_3d_mode"})
_RULE_RE = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")
# Full-width punctuation is the expected form of these Chinese texts.
_FALLBACK_WARNING = "{year} 年节假日数据缺失，按周一至周五计算 (no holiday data for {year}; counted Monday to Friday)"  # noqa: E501, RUF001
_FALLBACK_MARK = "年节假日数据缺失"
_TRIGGER_WARNING = "起算时间 {key} 缺失或无效，按任务就绪时间计算 ({key} missing or invalid; counted from when the task became ready)"  # noqa: E501, RUF001


class Unit(StrEnum):
    CD = "cd"
    WD = "wd"
    H = "h"
    MO = "mo"


UNIT_TEXT = {Unit.CD: "日", Unit.WD: "个工作日", Unit.H: "小时", Unit.MO: "个月"}


@dataclass(frozen=True)
class Rule:
    """A period: `value` units, e.g. Rule(3, Unit.WD) for 三个工作日."""

    value: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise ValueError(f"deadline value must be a positive integer, got {self.value!r}")

    def __str__(self) -> str:
        return f"{self.value}{self.unit}"

    @property
    def text(self) -> str:
        """Chinese reading of the rule, e.g. 3个工作日 or 24小时."""
        return f"{self.value}{UNIT_TEXT[self.unit]}"


def parse_unit(text: str) -> Unit:
    """Raises: ValueError on a unit that is not cd, wd, h or mo."""
    try:
        return Unit(text)
    except ValueError:
        allowed = ", ".join(Unit)
        raise ValueError(f"unknown deadline unit {text!r}; expected one of {allowed}") from None


def parse_rule(text: str) -> Rule:
    """Parse "3wd", "24h", "90cd" or "6mo" into a Rule.

    Raises:
        ValueError: the text is not <positive integer><unit>.
    """
    match = _RULE_RE.match(text.lower())
    if match is None:
        raise ValueError(f"invalid deadline rule {text!r}; expected e.g. 3wd, 15cd, 24h or 6mo")
    return Rule(int(match.group(1)), parse_unit(match.group(2)))


def resolve_unit(unit: str | None, unit_setting: str | None, settings: Settings) -> Unit:
    """The unit of a task deadline: fixed, or read from a setting (DOMAIN T6).

    Raises:
        ValueError: no unit, an unknown setting name, or a setting holding a bad unit.
    """
    if unit_setting:
        if unit_setting not in UNIT_SETTINGS:
            raise ValueError(f"unknown deadline_unit_setting {unit_setting!r}")
        value = getattr(settings, unit_setting)
        if value not in (Unit.CD, Unit.WD):
            raise ValueError(f"setting {unit_setting} must be cd or wd, got {value!r}")
        return Unit(value)
    if not unit:
        raise ValueError("deadline_unit or deadline_unit_setting is required")
    return parse_unit(unit)


def to_legal_iso(moment: datetime) -> str:
    """ISO 8601 in Beijing time (+08:00), the form shown to users."""
    return moment.astimezone(LEGAL_TZ).isoformat()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), LEGAL_TZ).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """23:59:59.999999 Asia/Shanghai of `day`, as UTC."""
    return start_of_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def add_months(day: date, months: int) -> date:
    """Same date `months` later, or the last day of that month if it has no such date."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Deadline:
    """A computed due moment with the explanation shown next to it."""

    start: datetime
    rule: Rule
    due: datetime
    warn_at: datetime
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    basis: str | None = None
    evidence: str | None = None
    deadline_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able explanation; moments in Beijing time."""
        return {
            "start": to_legal_iso(self.start),
            "rule": str(self.rule),
            "unit": str(self.rule.unit),
            "unit_text": self.rule.text,
            "due": to_legal_iso(self.due),
            "warn_at": to_legal_iso(self.warn_at),
            "skipped": [dict(item) for item in self.skipped],
            "warnings": list(self.warnings),
            "basis": self.basis,
            "evidence": self.evidence,
            "deadline_id": self.deadline_id,
        }


class _DayScan:
    """Collects the days consulted while counting: skipped ones and fallback years."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self.skipped: list[dict[str, str]] = []
        self.fallback_years: set[int] = set()

    def look(self, day: date) -> DayInfo:
        info = self.calendar.day_info(day)
        if info.source == DaySource.FALLBACK:
            self.fallback_years.add(day.year)
        return info

    def skip(self, info: DayInfo) -> None:
        self.skipped.append({"date": info.day.isoformat(), "reason": info.reason})

    def roll(self, day: date) -> date:
        """`day` if it is a working day, else the next working day, recording the days passed."""
        for _ in range(MAX_SCAN_DAYS):
            info = self.look(day)
            if info.working:
                return day
            self.skip(info)
            day += timedelta(days=1)
        raise ValueError(f"no working day found within {MAX_SCAN_DAYS} days")

    def count_working_days(self, after: date, count: int) -> date:
        day = after
        for _ in range(MAX_SCAN_DAYS):
            if count == 0:
                return day
            day += timedelta(days=1)
            info = self.look(day)
            if info.working:
                count -= 1
            else:
                self.skip(info)
        raise ValueError(f"period longer than {MAX_SCAN_DAYS} days")

    def warnings(self) -> list[str]:
        return [_FALLBACK_WARNING.format(year=year) for year in sorted(self.fallback_years)]


def is_fallback_warning(text: str) -> bool:
    """Whether a stored deadline warning says a year was counted Monday to Friday."""
    return _FALLBACK_MARK in text


def _last_day(scan: _DayScan, trigger_day: date, rule: Rule, extra_days: int) -> date:
    if rule.unit == Unit.WD:
        return scan.count_working_days(trigger_day, rule.value + extra_days)
    if rule.unit == Unit.CD:
        nominal = trigger_day + timedelta(days=rule.value)
    else:
        nominal = add_months(trigger_day, rule.value)
    return scan.roll(nominal + timedelta(days=extra_days))


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def day_deadline(start: datetime, rule: Rule, calendar: WorkCalendar, extra_days: int) -> Deadline:
    """A cd, wd or mo deadline from UTC `start`, its last day moved by `extra_days` counted days."""
    scan = _DayScan(calendar)
    last = _last_day(scan, start.astimezone(LEGAL_TZ).date(), rule, extra_days)
    due = end_of_day(last)
    warn_at = min(start + (due - start) * 2 / 3, start_of_day(last))
    return Deadline(start, rule, due, _floor_minute(warn_at), scan.skipped, scan.warnings())


def hour_deadline(start: datetime, rule: Rule, extra: timedelta) -> Deadline:
    """An h deadline from UTC `start`, its due moment moved by `extra`."""
    period = timedelta(hours=rule.value)
    due = start + period + extra
    return Deadline(start, rule, due, _floor_minute(due - period / 3))


def checked_start(start: datetime) -> datetime:
    """`start` in UTC.

    Raises:
        ValueError: `start` is naive.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("deadline start must be an aware datetime")
    return start.astimezone(UTC)


def compute_deadline(
    start: datetime,
    rule: Rule,
    calendar: WorkCalendar,
    *,
    basis: str | None = None,
    evidence: str | None = None,
    deadline_id: str | None = None,
) -> Deadline:
    """Due and warning moments of `rule` triggered at `start` (see the module docstring).

    Raises:
        ValueError: `start` is naive.
    """
    utc_start = checked_start(start)
    if rule.unit == Unit.H:
        deadline = hour_deadline(utc_start, rule, timedelta(0))
    else:
        deadline = day_deadline(utc_start, rule, calendar, 0)
    return replace(deadline, basis=basis, evidence=evidence, deadline_id=deadline_id)


def parse_aware(value: object) -> datetime | None:
    """The aware datetime an ISO 8601 string holds; None for anything else or a naive one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def rule_from_properties(properties: Mapping[str, str], settings: Settings) -> Rule | None:
    """The rule declared by a task's `deadline_*` properties, or None when it has none.

    Raises:
        ValueError: the properties are present but malformed.
    """
    raw_value = properties.get("deadline_value")
    if raw_value is None or not raw_value.strip():
        return None
    if not raw_value.strip().isdigit():
        raise ValueError(f"deadline_value must be a positive integer, got {raw_value!r}")
    unit = resolve_unit(
        properties.get("deadline_unit"), properties.get("deadline_unit_setting"), settings
    )
    return Rule(int(raw_value), unit)


def deadline_for_task(
    properties: Mapping[str, str],
    *,
    ready_at: datetime,
    data: Mapping[str, Any],
    calendar: WorkCalendar,
    settings: Settings,
) -> Deadline | None:
    """The deadline of a user task that just became ready, from its properties.

    `deadline_from` names a data key holding an aware ISO timestamp; when it is missing or
    invalid the deadline runs from `ready_at` and carries a warning saying so.

    Raises:
        ValueError: malformed deadline properties.
    """
    rule = rule_from_properties(properties, settings)
    if rule is None:
        return None
    start, warnings = ready_at, []
    from_key = properties.get("deadline_from")
    if from_key:
        trigger = parse_aware(data.get(from_key))
        if trigger is None:
            logger.warning("deadline_from key %s missing or invalid; using ready_at", from_key)
            warnings.append(_TRIGGER_WARNING.format(key=from_key))
        else:
            start = trigger
    deadline = compute_deadline(
        start,
        rule,
        calendar,
        basis=properties.get("deadline_basis"),
        evidence=properties.get("deadline_evidence"),
        deadline_id=properties.get("deadline_id"),
    )
    return replace(deadline, warnings=warnings + deadline.warnings)
