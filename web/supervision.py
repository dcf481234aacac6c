"""监督: the coordinators' view over every instance they may see, with filters and counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import render_template
from flask import request
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.rules import LEGAL_TZ
from engine.execution import processes
from engine.models import HumanTask
from engine.models import InstanceParty
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
from web.session import get_session
from web.task_display import signed_in_user

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

PAGE_LIMIT = 200
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
PHASES = {"open": ACTIVE_STATUSES, "closed": (InstanceStatus.COMPLETED,)}


@dataclass(frozen=True)
class SupervisionFilters:
    """The filters of the 监督 page, from the query string (unknown values are dropped)."""

    process_id: str | None = None
    org_code: str | None = None
    township_code: str | None = None
    status: str | None = None
    overdue: bool = False
    stalled: bool = False
    # Narrowing used by the statistics page's links (engine.statistics counts the same way).
    started_org: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    phase: str | None = None
    flagged: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> SupervisionFilters:
        status = args.get("status") or None
        phase = args.get("phase") or None
        flagged = args.get("flagged") or None
        return cls(
            process_id=args.get("process") or None,
            org_code=args.get("org") or None,
            township_code=args.get("township") or None,
            status=status if status in set(InstanceStatus) else None,
            overdue=args.get("overdue") == "1",
            stalled=args.get("stalled") == "1",
            started_org=args.get("started_org") or None,
            started_from=_date_arg(args.get("from")),
            started_to=_date_arg(args.get("to")),
            phase=phase if phase in PHASES else None,
            flagged=flagged if flagged in set(FlagKind) else None,
        )

    def narrowing(self) -> dict[str, str]:
        """The statistics filters that are set, as query-string values (kept by the form)."""
        values = {
            "started_org": self.started_org,
            "from": self.started_from.isoformat() if self.started_from else None,
            "to": self.started_to.isoformat() if self.started_to else None,
            "phase": self.phase,
            "flagged": self.flagged,
        }
        return {key: value for key, value in values.items() if value}


def _date_arg(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LEGAL_TZ)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Instances with an open task past its due moment."""
    return exists().where(
        HumanTask.instance_id == ProcessInstance.id,
        HumanTask.status == TaskStatus.OPEN,
        HumanTask.due_at < now,
    )


def stalled_clause() -> ColumnElement[bool]:
    """Instances with an open stalled flag (raised by engine.monitoring.flags' stall job)."""
    return exists().where(
        Flag.instance_id == ProcessInstance.id,
        Flag.kind == FlagKind.STALLED,
        Flag.cleared_at.is_(None),
    )


def _org_clause(org_code: str) -> ColumnElement[bool]:
    party = exists().where(
        InstanceParty.instance_id == ProcessInstance.id, InstanceParty.org_code == org_code
    )
    return or_(ProcessInstance.started_org == org_code, party)


def _narrowing_clauses(f: SupervisionFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.started_org:
        conditions.append(ProcessInstance.started_org == f.started_org)
    if f.started_from:
        conditions.append(ProcessInstance.started_at >= _local_midnight(f.started_from))
    if f.started_to:
        end = _local_midnight(f.started_to + timedelta(days=1))
        conditions.append(ProcessInstance.started_at < end)
    if f.phase:
        conditions.append(ProcessInstance.status.in_(PHASES[f.phase]))
    if f.flagged:
        conditions.append(
            exists().where(Flag.instance_id == ProcessInstance.id, Flag.kind == f.flagged)
        )
    return conditions


def filtered(base: Select[Any], f: SupervisionFilters, now: datetime) -> Select[Any]:
    """The visible instances narrowed by the page's filters."""
    conditions = _narrowing_clauses(f)
    if f.process_id:
        conditions.append(ProcessInstance.process_id == f.process_id)
    if f.org_code:
        conditions.append(_org_clause(f.org_code))
    if f.township_code:
        conditions.append(ProcessInstance.township_code == f.township_code)
    if f.status:
        conditions.append(ProcessInstance.status == f.status)
    if f.overdue:
        conditions.append(overdue_clause(now))
    if f.stalled:
        conditions.append(stalled_clause())
    return base.where(*conditions)


@dataclass(frozen=True)
class OrgCount:
    org_code: str | None
    total: int
    active: int
    overdue: int


def counts_by_org(session: Session, stmt: Select[Any], now: datetime) -> list[OrgCount]:
    """Per starting organization: how many instances, how many active, how many overdue."""
    ids = stmt.with_only_columns(ProcessInstance.id).subquery()
    active = case((ProcessInstance.status.in_(ACTIVE_STATUSES), 1), else_=0)
    late = case((overdue_clause(now), 1), else_=0)
    rows = session.execute(
        select(ProcessInstance.started_org, func.count(), func.sum(active), func.sum(late))
        .where(ProcessInstance.id.in_(select(ids.c.id)))
        .group_by(ProcessInstance.started_org)
        .order_by(func.count().desc(), ProcessInstance.started_org)
    )
    return [OrgCount(org, total, int(act or 0), int(over or 0)) for org, total, act, over in rows]


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
    f = SupervisionFilters.from_args(request.args)
    stmt = filtered(access.visible_instances(session, user), f, datetime.now(UTC))
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
    f = SupervisionFilters.from_args(request.args)
    stmt = filtered(access.visible_instances(session, user), f, now)
    listed = list(
        session.scalars(stmt.order_by(ProcessInstance.started_at.desc()).limit(PAGE_LIMIT))
    )
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    orgs = accounts.list_orgs(session)
    definitions = processes.list_processes(session)
    return render_template(
        "supervision/index.html",
        filters=f,
        instances=listed,
        total=total,
        limit=PAGE_LIMIT,
        overdue_ids=_overdue_ids(session, [i.id for i in listed], now),
        counts=counts_by_org(session, stmt, now),
        org_names={o.code: o.name for o in orgs},
        organizations=orgs,
        townships=[o for o in orgs if o.type == OrgType.TOWNSHIP],
        processes=definitions,
        process_titles={d.process_id: d.manifest.get("title") or d.name for d in definitions},
        statuses=list(InstanceStatus),
        flags=_open_flags(session, [i.id for i in listed]),
        timer_health=job_runs.timer_job_health(session, now=now),
    )
