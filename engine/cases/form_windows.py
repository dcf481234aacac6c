"""`x-xietong-window`: the plausible range of a date or date-time field.

```json
"x-xietong-window": {"not_before": ["case_start", {"key": "visit_date", "title": "检查日期"}],
                     "not_after": "today"}
```

A bound is `today` (the legal date in Asia/Shanghai), `now`, `case_start` (when the case
was started; the submission moment for a start form), an offset from today (`+5y`, `-2y`,
`+30d`, `-90d`), a data key (dotted; from earlier steps or this form), or an object
`{"key": ..., "title": ...}` naming the key's Chinese title for the message. A bound that
resolves to nothing (the key holds no date) is skipped. When either side is a date, the
field's legal date is compared; otherwise the instants. Stamped fields are checked too, so
a step can be ordered after another (the site visit on or after the approved visit date).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from engine.cases.form_offers import lookup
from engine.cases.form_offers import title_of
from engine.cases.form_offers import walk
from engine.execution.script_api import LEGAL_TZ

WINDOW = "x-xietong-window"
OFFSET = re.compile(r"^([+-])(\d{1,3})([yd])$")
FIXED_LABELS = {"today": "今天", "now": "当前时间", "case_start": "案件发起日期"}
Moment = date | datetime


@dataclass(frozen=True)
class Bound:
    moment: Moment
    label: str


def _parse(value: Any) -> Moment | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == len("2026-01-01"):
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LEGAL_TZ)


def _offset(match: re.Match[str], today: date) -> tuple[date, str]:
    sign, amount, unit = match.group(1), int(match.group(2)), match.group(3)
    if unit == "d":
        delta = timedelta(days=amount)
        return (today + delta if sign == "+" else today - delta), f"{amount} 天{_side(sign)}"
    year = today.year + (amount if sign == "+" else -amount)
    day = today.day if not (today.month == 2 and today.day == 29) else 28
    return today.replace(year=year, day=day), f"{amount} 年{_side(sign)}"


def _side(sign: str) -> str:
    return "后" if sign == "+" else "前"


def _bound(spec: Any, data: Mapping[str, Any], now: datetime, case_start: datetime) -> Bound | None:
    key, title = (spec.get("key"), spec.get("title")) if isinstance(spec, Mapping) else (spec, None)
    key = str(key)
    today = now.astimezone(LEGAL_TZ).date()
    fixed: dict[str, Moment] = {"today": today, "now": now, "case_start": case_start}
    if key in fixed:
        return Bound(fixed[key], str(title or FIXED_LABELS[key]))
    match = OFFSET.match(key)
    if match:
        moment, label = _offset(match, today)
        return Bound(moment, str(title or label))
    found = _parse(lookup(data, key))
    return Bound(found, str(title or key)) if found is not None else None


def _legal_date(moment: Moment) -> date:
    return moment.astimezone(LEGAL_TZ).date() if isinstance(moment, datetime) else moment


def _compare(value: Moment, bound: Moment) -> int:
    """-1, 0 or 1 as the value is before, on or after the bound."""
    if isinstance(value, datetime) and isinstance(bound, datetime):
        return (value > bound) - (value < bound)
    left, right = _legal_date(value), _legal_date(bound)
    return (left > right) - (left < right)


def _shown(moment: Moment) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(LEGAL_TZ).strftime("%Y-%m-%d %H:%M")
    return moment.isoformat()


def _specs(rule: Mapping[str, Any], side: str) -> list[Any]:
    specs = rule.get(side) or []
    return list(specs) if isinstance(specs, list) else [specs]


def _problem(
    prop: Mapping[str, Any], path: str, value: Moment, bounds: tuple[list[Bound], list[Bound]]
) -> str | None:
    title = title_of(prop, path)
    for bound in bounds[0]:
        if _compare(value, bound.moment) < 0:
            return f"{title}不能早于{bound.label} ({_shown(bound.moment)})"
    for bound in bounds[1]:
        if _compare(value, bound.moment) > 0:
            return f"{title}不能晚于{bound.label} ({_shown(bound.moment)})"
    return None


def window_errors(
    schema: Mapping[str, Any],
    cleaned: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    now: datetime,
    case_start: datetime,
) -> dict[str, str]:
    """Date fields outside their declared window; `data` is the task data plus the form's."""
    errors: dict[str, str] = {}
    for path, prop, raw in walk(schema, cleaned):
        rule = prop.get(WINDOW)
        value = _parse(raw) if isinstance(rule, Mapping) else None
        if value is None or not isinstance(rule, Mapping):
            continue
        before = [_bound(spec, data, now, case_start) for spec in _specs(rule, "not_before")]
        after = [_bound(spec, data, now, case_start) for spec in _specs(rule, "not_after")]
        bounds = ([b for b in before if b], [b for b in after if b])
        problem = _problem(prop, path, value, bounds)
        if problem:
            errors[path] = problem
    return errors
