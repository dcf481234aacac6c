"""Admin form that enters a year's holiday notice at once (按通知录入): ranges, 调休 days, 文号.

The notice replaces that year's overrides of its region (national or Xinjiang); the shipped
Xinjiang data never touches the year again. The same is `xietong calendar import FILE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from engine.deadlines import notice_formats
from engine.deadlines import notices
from engine.deadlines.notices import InvalidNotice
from engine.deadlines.notices import NoticeProblem
from web.admin.calendar import REGIONS
from web.admin.calendar import actor_name
from web.admin.calendar import recompute_after
from web.admin.calendar import render_page
from web.admin.calendar import year_arg
from web.session import get_session

FIELDS = ("year", "region", "notice_no", "holidays", "workdays")
IMPORTED = "已按通知{notice_no}录入{year}年{region}节假日安排，共 {count} 天。"
LINE_PREFIX = "第 {line} 行："
PROBLEM_TEXT: Mapping[str, str] = {
    "bad_year": "请填写 2000 至 2100 之间的年份。",
    "unknown_region": "请选择适用地区。",
    "required": "此项必填。",
    "too_long": "名称和文号不超过 100 个字。",
    "bad_date": "日期应写作 年-月-日，如 2027-01-01。",
    "outside_year": "日期不在该年度内（可含上年 12 月、次年 1 月）。",
    "bad_range": "结束日期不能早于开始日期，一段假期不超过 31 天。",
    "workday_range": "调休上班每行只写一个日期。",
    "duplicate_day": "同一日期填写了两次。",
    "bad_line": "每行写「名称 开始日期 结束日期」或「名称 日期」，以空格分隔。",
    "empty": "请至少填写一段放假安排。",
}
GENERIC_PROBLEM = "内容有误，请检查。"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/calendar/import", "calendar_import", calendar_import, methods=["POST"])


def problem_messages(problems: Sequence[NoticeProblem]) -> dict[str, str]:
    """Chinese text per form field; the first problem of a field is shown."""
    messages: dict[str, str] = {}
    for problem in problems:
        text = PROBLEM_TEXT.get(problem.code, GENERIC_PROBLEM)
        if problem.line is not None:
            text = LINE_PREFIX.format(line=problem.line) + text
        messages.setdefault(problem.field, text)
    return messages


def calendar_import() -> tuple[str, int] | Response:
    form = {key: request.form.get(key, "") for key in FIELDS}
    try:
        notice = notice_formats.parse_notice_lines(
            year=form["year"],
            region=form["region"],
            notice_no=form["notice_no"],
            holidays=form["holidays"],
            workdays=form["workdays"],
        )
    except InvalidNotice as exc:
        errors = problem_messages(exc.problems)
        return render_page(
            year_arg(form["year"]), {}, {}, 400, import_errors=errors, import_form=form
        )
    changed = notices.import_notice(get_session(), notice, actor=actor_name())
    recompute_after(changed)
    get_session().commit()
    region = REGIONS.get(notice.region, notice.region)
    flash(
        IMPORTED.format(
            notice_no=notice.notice_no, year=notice.year, region=region, count=len(notice.days)
        ),
        "success",
    )
    return redirect(url_for("admin.calendar", year=notice.year))
