"""Admin page for the working-day calendar overrides (节假日调整): list by year, add, remove.

The same rows are kept with `xietong calendar list|add|remove`; deadlines read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import datetime

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from engine.deadlines import calendar
from engine.errors import Conflict
from engine.errors import DomainRuleViolation
from engine.errors import NotFound
from web.auth import current_user
from web.filters import LOCAL_TZ
from web.session import get_session

REGIONS: Mapping[str, str] = {"national": "全国", "xinjiang": "新疆维吾尔自治区"}
KINDS: Mapping[str, str] = {"holiday": "放假", "workday": "调休上班"}
FIELDS = ("day", "kind", "name", "region")
FIELD_ERRORS: Mapping[str, str] = {
    "day": "请填写正确的日期（年-月-日）。",
    "kind": "请选择放假或调休上班。",
    "name": "请填写节日名称，如 古尔邦节。",
    "region": "请选择适用地区。",
}
TAKEN = "该日期在该地区已有调整，请先删除原记录。"
ADDED = "已添加 {day} {name}。"
REMOVED = "已删除 {day} 的调整。"
MISSING = "没有该日期的调整记录。"
MIN_YEAR, MAX_YEAR = 2000, 2100


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/calendar", "calendar", calendar_page, methods=["GET"])
    bp.add_url_rule("/calendar", "calendar_add", calendar_add, methods=["POST"])
    bp.add_url_rule("/calendar/remove", "calendar_remove", calendar_remove, methods=["POST"])


def _this_year() -> int:
    return datetime.now(LOCAL_TZ).year


def _year_arg(raw: str | None) -> int:
    """The year asked for, this year when missing or out of range."""
    try:
        year = int(raw or "")
    except ValueError:
        return _this_year()
    return year if MIN_YEAR <= year <= MAX_YEAR else _this_year()


def _parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _render(
    year: int, errors: Mapping[str, str], form: Mapping[str, str], status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin/calendar.html",
        year=year,
        overrides=calendar.list_overrides(get_session(), year),
        regions=REGIONS,
        kinds=KINDS,
        errors=errors,
        form=form,
    )
    return page, status


def calendar_page() -> tuple[str, int]:
    return _render(_year_arg(request.args.get("year")), {}, {})


def _form_errors(form: Mapping[str, str]) -> dict[str, str]:
    """Checks the page makes before the engine: a real date and a known region."""
    errors = {}
    if _parse_day(form["day"]) is None:
        errors["day"] = FIELD_ERRORS["day"]
    if form["region"] not in REGIONS:
        errors["region"] = FIELD_ERRORS["region"]
    return errors


def calendar_add() -> tuple[str, int] | Response:
    form = {key: request.form.get(key, "").strip() for key in FIELDS}
    day = _parse_day(form["day"])
    year = day.year if day else _year_arg(request.form.get("year"))
    errors = _form_errors(form)
    if errors or day is None:
        return _render(year, errors, form, 400)
    user = current_user()
    actor = user.username if user else "admin"
    try:
        calendar.add_override(
            get_session(),
            day=day,
            kind=form["kind"],
            name=form["name"],
            region=form["region"],
            actor=actor,
        )
    except DomainRuleViolation as exc:
        found = {key: FIELD_ERRORS.get(key, FIELD_ERRORS["name"]) for key in exc.field_errors}
        return _render(year, found, form, 400)
    except Conflict:
        return _render(year, {"day": TAKEN}, form, 400)
    get_session().commit()
    flash(ADDED.format(day=day.isoformat(), name=form["name"]), "success")
    return redirect(url_for("admin.calendar", year=day.year))


def calendar_remove() -> Response:
    day = _parse_day(request.form.get("day", ""))
    region = request.form.get("region", calendar.NATIONAL)
    if day is None:
        flash(MISSING, "error")
        return redirect(url_for("admin.calendar"))
    try:
        calendar.remove_override(get_session(), day=day, region=region)
    except NotFound:
        flash(MISSING, "error")
        return redirect(url_for("admin.calendar", year=day.year))
    get_session().commit()
    flash(REMOVED.format(day=day.isoformat()), "success")
    return redirect(url_for("admin.calendar", year=day.year))
