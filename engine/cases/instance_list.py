"""Lists of instances (监督, GET /api/v1/instances): filters, one keyset page, counts by org.

Every filter is an SQL condition and every count a GROUP BY, so a list costs one page of
rows however many instances match. Visibility comes from engine.people.access; callers pass
its SELECT in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from engine import paging
from engine.deadlines.rules import LEGAL_TZ
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.paging import Page

ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
INSTANCE_LIGHTS = ("green", "yellow", "red")


@dataclass(frozen=True)
class InstanceFilters:
    """Filters of an instance list; `light` is the worst light of the open tasks."""

    process_id: str | None = None
    org_code: str | None = None
    township_code: str | None = None
    status: str | None = None
    light: str | None = None
    overdue: bool = False
    stalled: bool = False
    # Narrowing the statistics page's links use (engine.statistics counts the same way).
    started_org: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    phase: str | None = None
    flagged: str | None = None


def _open_task(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        HumanTask.instance_id == ProcessInstance.id,
        HumanTask.status == TaskStatus.OPEN,
        *conditions,
    )


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Instances with an open task past its due moment."""
    return _open_task(HumanTask.due_at < now)


def light_clause(light: str, now: datetime) -> ColumnElement[bool]:
    """Red: an open task is due; yellow: none is, one is warned; green: neither."""
    red = _open_task(HumanTask.due_at <= now)
    warned = _open_task(HumanTask.warn_at <= now)
    if light == "red":
        return red
    if light == "yellow":
        return ~red & warned
    return ~red & ~warned


def stalled_clause() -> ColumnElement[bool]:
    """Instances with an open stalled flag (raised by engine.monitoring.stalls)."""
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


PHASES = {
    "open": (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR),
    "closed": (InstanceStatus.COMPLETED,),
}


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LEGAL_TZ).astimezone(UTC)


def _narrowing_clauses(f: InstanceFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.started_org:
        conditions.append(ProcessInstance.started_org == f.started_org)
    if f.started_from:
        conditions.append(ProcessInstance.started_at >= _local_midnight(f.started_from))
    if f.started_to:
        end = _local_midnight(f.started_to + timedelta(days=1))
        conditions.append(ProcessInstance.started_at < end)
    if f.phase in PHASES:
        conditions.append(ProcessInstance.status.in_(PHASES[f.phase]))
    if f.flagged:
        conditions.append(
            exists().where(Flag.instance_id == ProcessInstance.id, Flag.kind == f.flagged)
        )
    return conditions


def filtered(base: Select[Any], f: InstanceFilters, now: datetime) -> Select[Any]:
    """The visible instances narrowed by the filters."""
    conditions = _narrowing_clauses(f)
    if f.process_id:
        conditions.append(ProcessInstance.process_id == f.process_id)
    if f.org_code:
        conditions.append(_org_clause(f.org_code))
    if f.township_code:
        conditions.append(ProcessInstance.township_code == f.township_code)
    if f.status:
        conditions.append(ProcessInstance.status == f.status)
    if f.light in INSTANCE_LIGHTS:
        conditions.append(light_clause(f.light, now))
    if f.overdue:
        conditions.append(overdue_clause(now))
    if f.stalled:
        conditions.append(stalled_clause())
    return base.where(*conditions)


def instance_page(
    session: Session, stmt: Select[Any], *, after: str | None, size: int = paging.PAGE_SIZE
) -> Page[ProcessInstance]:
    """One page of the instances, newest first (keyset on started_at, id), without state.

    Raises:
        InvalidCursor: `after` is not a cursor of this list.
    """
    cursor = paging.decode(after)
    if cursor is not None:
        stmt = stmt.where(
            paging.after_descending(ProcessInstance.started_at, ProcessInstance.id, cursor)
        )
    order = (ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
    lean = stmt.options(defer(ProcessInstance.state_json))
    rows = list(session.scalars(lean.order_by(*order).limit(size + 1)))
    return paging.page_of(rows, size, lambda i: paging.Cursor(i.started_at, i.id))


@dataclass(frozen=True)
class OrgCount:
    org_code: str | None
    total: int
    active: int
    overdue: int


def counts_by_org(session: Session, stmt: Select[Any], now: datetime) -> list[OrgCount]:
    """Per starting organization: how many instances, how many active, how many overdue."""
    visible = (
        stmt.with_only_columns(
            ProcessInstance.id, ProcessInstance.started_org, ProcessInstance.status
        )
        .order_by(None)
        .subquery()
    )
    totals = session.execute(
        select(
            visible.c.started_org,
            func.count(),
            func.count().filter(visible.c.status.in_(ACTIVE_STATUSES)),
        ).group_by(visible.c.started_org)
    )
    overdue = exists().where(
        HumanTask.instance_id == visible.c.id,
        HumanTask.status == TaskStatus.OPEN,
        HumanTask.due_at < now,
    )
    late: dict[str | None, int] = dict(
        session.execute(
            select(visible.c.started_org, func.count())
            .where(overdue)
            .group_by(visible.c.started_org)
        ).all()
    )
    counts = [
        OrgCount(org, total, int(act or 0), int(late.get(org, 0))) for org, total, act in totals
    ]
    return sorted(counts, key=lambda c: (-c.total, c.org_code or ""))
