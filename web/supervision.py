"""监督: the coordinators' view over every instance they may see, with filters and counts."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instance_list
from engine.cases.instance_list import INSTANCE_LIGHTS
from engine.cases.instance_list import InstanceFilters
from engine.execution import processes
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.monitoring import job_runs
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.people import access
from engine.people import accounts
from engine.statistics import export
from engine.statistics import service as statistics_service
from engine.statistics.export import Table
from web import export_tables
from web import statistics as statistics_views
from web.auth import login_required
from web.paging import after_arg
from web.paging import first_url
from web.paging import next_url
from web.session import get_session
from web.task_display import signed_in_user

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

PAGE_LIMIT = 200
# Counted as 在办: not ended, suspended (挂起) ones included.
ACTIVE_STATUSES = (
    InstanceStatus.RUNNING,
    InstanceStatus.WAITING,
    InstanceStatus.ERROR,
    InstanceStatus.SUSPENDED,
)


def instance_filters(args: Any) -> InstanceFilters:
    """The filters of an instance list from a query string (unknown values are dropped)."""
    status = args.get("status") or None
    light = args.get("light") or None
    phase = args.get("phase") or None
    flagged = args.get("flagged") or None
    return InstanceFilters(
        process_id=args.get("process") or None,
        org_code=args.get("org") or None,
        township_code=args.get("township") or None,
        status=status if status in set(InstanceStatus) else None,
        light=light if light in INSTANCE_LIGHTS else None,
        overdue=args.get("overdue") == "1",
        stalled=args.get("stalled") == "1",
        started_org=args.get("started_org") or None,
        started_from=_date_arg(args.get("from")),
        started_to=_date_arg(args.get("to")),
        phase=phase if phase in instance_list.PHASES else None,
        flagged=flagged if flagged in set(FlagKind) else None,
    )


def narrowing(f: InstanceFilters) -> dict[str, str]:
    """The statistics filters that are set, as query-string values (kept by the form)."""
    values = {
        "started_org": f.started_org,
        "from": f.started_from.isoformat() if f.started_from else None,
        "to": f.started_to.isoformat() if f.started_to else None,
        "phase": f.phase,
        "flagged": f.flagged,
    }
    return {key: value for key, value in values.items() if value}


def _date_arg(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _overdue_ids(session: Session, ids: list[int], now: datetime) -> set[int]:
    if not ids:
        return set()
    stmt = select(HumanTask.instance_id).where(
        HumanTask.instance_id.in_(ids), HumanTask.status == TaskStatus.OPEN, HumanTask.due_at < now
    )
    return set(session.scalars(stmt))


def _open_flags(session: Session, ids: list[int]) -> dict[int, list[Flag]]:
    """Instance id to its open flags (yellow, red, stalled), each with its reason."""
    found: dict[int, list[Flag]] = {}
    if ids:
        rows = session.scalars(
            select(Flag)
            .where(Flag.instance_id.in_(ids), Flag.cleared_at.is_(None))
            .order_by(Flag.instance_id, Flag.raised_at)
        )
        for flag in rows:
            found.setdefault(flag.instance_id, []).append(flag)
    return found


def _export_table(session: Session, user: User) -> Table:
    f = instance_filters(request.args)
    stmt = instance_list.filtered(access.visible_instances(session, user), f, datetime.now(UTC))
    listed = session.scalars(
        stmt.order_by(ProcessInstance.started_at.desc()).execution_options(yield_per=500)
    )
    org_names = {o.code: o.name for o in accounts.list_orgs(session)}
    titles = statistics_service.process_titles(session)
    return export_tables.supervision_table(listed, org_names, titles)


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> Response:
    session, user = get_session(), signed_in_user()
    table = _export_table(session, user)
    filters = export_tables.supervision_filters(request.args.to_dict())
    cover = export_tables.cover("监督流程清单", filters, datetime.now(UTC))
    return statistics_views.xlsx_response(export.write_xlsx([cover, table]), "supervision.xlsx")


@bp.get("/export.csv")
@login_required
def export_csv() -> Response:
    table = _export_table(get_session(), signed_in_user())
    return statistics_views.csv_response(export.write_csv(table), "supervision.csv")


@bp.get("/")
@login_required
def index() -> str:
    session, user = get_session(), signed_in_user()
    now = datetime.now(UTC)
    f = instance_filters(request.args)
    stmt = instance_list.filtered(access.visible_instances(session, user), f, now)
    page = instance_list.instance_page(session, stmt, after=after_arg())
    counts = instance_list.counts_by_org(session, stmt, now)
    orgs = accounts.list_orgs(session)
    definitions = processes.list_processes(session)
    ids = [i.id for i in page.items]
    return render_template(
        "supervision/index.html",
        filters=f,
        narrowing=narrowing(f),
        instances=page.items,
        total=sum(c.total for c in counts),
        next_href=next_url(page.next_after),
        first_href=first_url(),
        overdue_ids=_overdue_ids(session, ids, now),
        counts=counts,
        org_names={o.code: o.name for o in orgs},
        organizations=orgs,
        townships=[o for o in orgs if o.type == OrgType.TOWNSHIP],
        processes=definitions,
        process_titles={d.process_id: d.manifest.get("title") or d.name for d in definitions},
        statuses=list(InstanceStatus),
        flags=_open_flags(session, ids),
        timer_health=job_runs.timer_job_health(session, now=now),
    )
