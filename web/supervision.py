"""监督: the coordinators' view over every instance they may see, with filters and counts."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
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
from engine.models import TaskStatus
from engine.monitoring import job_runs
from engine.monitoring.models import Flag
from engine.people import access
from engine.people import accounts
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
    return InstanceFilters(
        process_id=args.get("process") or None,
        org_code=args.get("org") or None,
        township_code=args.get("township") or None,
        status=status if status in set(InstanceStatus) else None,
        light=light if light in INSTANCE_LIGHTS else None,
        overdue=args.get("overdue") == "1",
        stalled=args.get("stalled") == "1",
    )


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
