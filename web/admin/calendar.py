"""Admin page for the working-day calendar overrides (节假日调整): list by year, add, remove.

The same rows are kept with `xietong calendar list|add|remove`; deadlines read them, and
every change recomputes the open tasks' deadlines it may move. A whole notice is entered with
the form of `web.admin.calendar_import`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime

from flask import Blueprint
from flask import current_app
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
from engine.monitoring.recompute import recompute_open_deadlines
from engine.settings import Settings
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
RECOMPUTED = "已重算 {count} 件未办结待办的期限。"
ORIGINS: Mapping[str, str] = {"shipped": "系统内置", "admin": "管理员"}
MIN_YEAR, MAX_YEAR = 2000, 2100
SETTINGS_KEY = "XIETONG_SETTINGS"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/calendar", "calendar", calendar_page, methods=["GET"])
    bp.add_url_rule("/calendar", "calendar_add", calendar_add, methods=["POST"])
    bp.add_url_rule("/calendar/remove", "calendar_remove", calendar_remove, methods=["POST"])


def _this_year() -> int:
    return datetime.now(LOCAL_TZ).year


def year_arg(raw: str | None) -> int:
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


def render_page(
    year: int,
    errors: Mapping[str, str],
    form: Mapping[str, str],
    status: int = 200,
    *,
    import_errors: Mapping[str, str] | None = None,
    import_form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """The calendar page of `year`, with the add form's and the notice form's values."""
    session = get_session()
    page = render_template(
        "admin/calendar.html",
        year=year,
        overrides=calendar.list_overrides(session, year),
        year_rows={r: calendar.find_year(session, year, r) for r in REGIONS},
        package_year=calendar.package_covers(year),
        regions=REGIONS,
        kinds=KINDS,
        origins=ORIGINS,
        errors=errors,
        form=form,
        import_errors=import_errors or {},
        import_form=import_form or {"year": str(year), "region": calendar.NATIONAL},
    )
    return page, status


def actor_name() -> str:
    user = current_user()
    return user.username if user else "admin"


def recompute_after(changed: set[date]) -> None:
    """Recompute the open deadlines the change may move, and say how many moved."""
    settings: Settings = current_app.config[SETTINGS_KEY]
    moved = recompute_open_deadlines(
        get_session(), settings=settings, now=datetime.now(UTC), changed_days=changed
    )
    if moved:
        flash(RECOMPUTED.format(count=len(moved)), "success")


def calendar_page() -> tuple[str, int]:
    return render_page(year_arg(request.args.get("year")), {}, {})


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
    year = day.year if day else year_arg(request.form.get("year"))
    errors = _form_errors(form)
    if errors or day is None:
        return render_page(year, errors, form, 400)
    try:
        calendar.add_override(
            get_session(),
            day=day,
            kind=form["kind"],
            name=form["name"],
            region=form["region"],
            actor=actor_name(),
        )
    except DomainRuleViolation as exc:
        found = {key: FIELD_ERRORS.get(key, FIELD_ERRORS["name"]) for key in exc.field_errors}
        return render_page(year, found, form, 400)
    except Conflict:
        return render_page(year, {"day": TAKEN}, form, 400)
    recompute_after({day})
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
        calendar.remove_override(get_session(), day=day, region=region, actor=actor_name())
    except NotFound:
        flash(MISSING, "error")
        return redirect(url_for("admin.calendar", year=day.year))
    recompute_after({day})
    get_session().commit()
    flash(REMOVED.format(day=day.isoformat()), "success")
    return redirect(url_for("admin.calendar", year=day.year))
