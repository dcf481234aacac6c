"""统计分析: figures per organization, township, process or month, with charts and exports.

Coordinators and admins see the county, heads their organization (engine.statistics.service);
everyone else gets 404. Every figure links to the 监督 list of the instances behind it.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue

from engine.deadlines.rules import LEGAL_TZ
from engine.errors import InvalidTaskData
from engine.monitoring.models import FlagKind
from engine.statistics import export
from engine.statistics import service
from engine.statistics.query import GroupBy
from engine.statistics.query import StatsQuery
from engine.statistics.query import parse_query
from engine.statistics.service import GroupRow
from engine.statistics.service import Statistics
from web import export_tables
from web.auth import current_user
from web.charts import Series
from web.charts import bar_chart
from web.charts import line_chart
from web.session import get_session
from web.task_display import signed_in_user

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
GROUP_FILTER = {
    GroupBy.ORG: "started_org",
    GroupBy.TOWNSHIP: "township",
    GroupBy.PROCESS: "process",
}


@bp.before_request
def _statistics_roles() -> None:
    user = current_user()
    if user is None or user.role not in service.STATISTICS_ROLES:
        abort(404)


def today_local() -> date:
    return datetime.now(UTC).astimezone(LEGAL_TZ).date()


def compute_for_request(args: Any) -> Statistics:
    """The statistics of the signed-in user for a query string.

    Raises:
        InvalidTaskData: the query string is malformed.
    """
    query = parse_query(args, today=today_local())
    return service.compute(get_session(), signed_in_user(), query, now=datetime.now(UTC))


def _period_args(query: StatsQuery, key: str) -> dict[str, str]:
    if query.group_by is not GroupBy.MONTH or not key:
        return {"from": query.date_from.isoformat(), "to": query.date_to.isoformat()}
    year, month = (int(part) for part in key.split("-"))
    first = max(date(year, month, 1), query.date_from)
    last = min(date(year, month, monthrange(year, month)[1]), query.date_to)
    return {"from": first.isoformat(), "to": last.isoformat()}


def group_link(query: StatsQuery, row: GroupRow | None, **extra: str) -> str:
    """The 监督 list of the instances counted in `row` (None: the total), narrowed by `extra`."""
    args: dict[str, Any] = dict(_period_args(query, row.key if row else ""))
    if query.process_id:
        args["process"] = query.process_id
    if row is not None and query.group_by in GROUP_FILTER and row.key:
        args[GROUP_FILTER[query.group_by]] = row.key
    args.update(extra)
    return url_for("supervision.index", **args)


def _charts(stats: Statistics) -> dict[str, Any]:
    labels = [export_tables.group_label(row) for row in stats.groups]
    series = [
        Series("发起", [row.started for row in stats.groups]),
        Series("办结", [row.closed for row in stats.groups]),
        Series("在办", [row.open for row in stats.groups]),
    ]
    flags = [
        Series(export_tables.FLAG_TITLES[kind], [row.count(kind) for row in stats.groups])
        for kind in FlagKind
    ]
    if stats.query.group_by is GroupBy.MONTH:
        return {
            "cases": line_chart("各月发起、办结、在办件数", labels, series),
            "flags": line_chart("各月临期、超期、停滞件数", labels, flags),
        }
    return {
        "cases": bar_chart("发起、办结、在办件数", labels, series),
        "flags": bar_chart("临期、超期、停滞件数", labels, flags),
    }


def _processes() -> dict[str, str]:
    return service.process_titles(get_session())


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        stats = compute_for_request(request.args)
    except InvalidTaskData as exc:
        return render_template(
            "statistics/index.html",
            stats=None,
            errors=exc.field_errors,
            processes=_processes(),
            group_bys=list(GroupBy),
        ), 400
    return render_template(
        "statistics/index.html",
        stats=stats,
        errors={},
        processes=_processes(),
        charts=_charts(stats),
        group_link=group_link,
        flag_kinds=list(FlagKind),
        flag_titles=export_tables.FLAG_TITLES,
        group_titles=export_tables.GROUP_TITLES,
        group_label=export_tables.group_label,
        percent=export_tables.percent,
        days=export_tables.days,
        group_bys=list(GroupBy),
    )


def xlsx_response(body: bytes, name: str) -> Response:
    return Response(
        body,
        mimetype=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def csv_response(body: bytes, name: str) -> Response:
    return Response(
        body,
        content_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def statistics_workbook(stats: Statistics) -> bytes:
    """Cover, group and step sheets of the statistics."""
    title = _processes().get(stats.query.process_id or "")
    cover = export_tables.cover(
        "统计分析", export_tables.statistics_filters(stats, title), stats.generated_at
    )
    tables = [cover, export_tables.groups_table(stats), export_tables.steps_table(stats)]
    return export.write_xlsx(tables)


@bp.get("/export.xlsx")
def export_xlsx() -> ResponseReturnValue:
    try:
        stats = compute_for_request(request.args)
    except InvalidTaskData:
        abort(400)
    return xlsx_response(statistics_workbook(stats), "statistics.xlsx")


@bp.get("/export.csv")
def export_csv() -> ResponseReturnValue:
    try:
        stats = compute_for_request(request.args)
    except InvalidTaskData:
        abort(400)
    if request.args.get("table") == "steps":
        return csv_response(export.write_csv(export_tables.steps_table(stats)), "steps.csv")
    return csv_response(export.write_csv(export_tables.groups_table(stats)), "statistics.csv")
