"""The statistics views of the JSON API (registered on web.api's blueprint)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.models import User
from engine.monitoring.models import FlagKind
from engine.statistics import service
from engine.statistics.query import parse_query
from engine.statistics.service import GroupRow
from engine.statistics.service import Statistics
from engine.statistics.service import StepRow
from web.auth import api_user
from web.session import get_session
from web.statistics import statistics_workbook
from web.statistics import today_local
from web.statistics import xlsx_response


def _group_json(row: GroupRow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": row.key,
        "label": row.label,
        "started": row.started,
        "closed": row.closed,
        "open": row.open,
        "cancelled": row.cancelled,
    }
    for kind in FlagKind:
        body[str(kind)] = row.count(kind)
        body[f"{kind}_rate"] = row.rate(kind)
    return body


def _step_json(step: StepRow) -> dict[str, Any]:
    return {
        "process_id": step.process_id,
        "bpmn_id": step.bpmn_id,
        "name": step.name,
        "completed": step.completed,
        "on_time": step.on_time,
        "late": step.late,
        "on_time_rate": step.on_time_rate,
        "open_overdue": step.open_overdue,
        "median_hours": step.median_hours,
        "p90_hours": step.p90_hours,
        "limit": step.limit_text,
        "limit_basis": step.limit_basis,
    }


def statistics_json(stats: Statistics) -> dict[str, Any]:
    query = stats.query
    return {
        "from": query.date_from.isoformat(),
        "to": query.date_to.isoformat(),
        "group_by": str(query.group_by),
        "process": query.process_id,
        "generated_at": stats.generated_at.isoformat(),
        "groups": [_group_json(row) for row in stats.groups],
        "total": _group_json(stats.total),
        "steps": [_step_json(step) for step in stats.steps],
    }


QUERY_KEYS = frozenset({"from", "to", "group_by", "process"})


def _compute() -> Statistics:
    """The caller's statistics for the query string.

    Raises:
        NotFound: the caller's role has no statistics.
        InvalidTaskData: a parameter is unknown or malformed.
    """
    user: User | None = api_user()
    if user is None:
        raise NotFound("statistics")
    errors = dict.fromkeys(sorted(set(request.args) - QUERY_KEYS), "不支持的查询参数")
    for key in QUERY_KEYS & set(request.args):
        values = request.args.getlist(key)
        if len(values) != 1 or not values[0]:
            errors[key] = "该参数只能给出一次，且不能为空"
    if errors:
        raise InvalidTaskData("invalid query parameters", errors)
    query = parse_query(request.args, today=today_local())
    return service.compute(get_session(), user, query, now=datetime.now(UTC))


def get_statistics() -> ResponseReturnValue:
    """GET /api/v1/statistics: the figures as JSON (404 for roles without statistics)."""
    return jsonify(statistics_json(_compute()))


def export_statistics() -> ResponseReturnValue:
    """GET /api/v1/exports/statistics.xlsx: the same figures as a workbook."""
    return xlsx_response(statistics_workbook(_compute()), "statistics.xlsx")
