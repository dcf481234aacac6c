"""The figures of the statistics page, export and API, over the instances a user may see.

Definitions (every figure is over instances started in the period):
- started: every such instance; closed: completed; cancelled: cancelled; open: running,
  waiting or in error;
- yellow/red/stalled: instances that carried such a flag at any time (open or cleared), and
  their share of the started ones;
- per step (process and user-task id): on time = completed no later than its due moment,
  late = completed after it, over the completed tasks that had one; open overdue = still open
  past it at `now`; durations run from the task's creation to its completion, median and p90
  by the nearest-rank method; the legal limit is the step's stored deadline rule.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.rules import LEGAL_TZ
from engine.errors import NotFound
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import Organization
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.people import access
from engine.statistics.query import GroupBy
from engine.statistics.query import StatsQuery

STATISTICS_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN, Role.HEAD})
OPEN_STATUSES = frozenset({InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR})
NO_KEY = ""


@dataclass
class GroupRow:
    """One organization, township, process or month (`key`; "" when the instance has none)."""

    key: str
    label: str = ""
    started: int = 0
    closed: int = 0
    cancelled: int = 0
    open: int = 0
    flagged: Counter[str] = field(default_factory=Counter)

    def count(self, kind: FlagKind) -> int:
        return self.flagged[kind]

    def rate(self, kind: FlagKind) -> float | None:
        """Share of started instances that carried a flag of `kind`; None when none started."""
        return self.flagged[kind] / self.started if self.started else None


@dataclass
class StepRow:
    """One user task of one process, with its timeliness and durations (hours)."""

    process_id: str
    bpmn_id: str
    name: str
    process_label: str = ""
    completed: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    limit_text: str | None = None
    limit_basis: str | None = None

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None


@dataclass(frozen=True)
class Statistics:
    query: StatsQuery
    groups: list[GroupRow]
    total: GroupRow
    steps: list[StepRow]
    generated_at: datetime


def ensure_may_view(user: User) -> None:
    """Coordinators and admins see the county, heads their organization; others nothing.

    Raises:
        NotFound: the user's role has no statistics (answered like a missing page).
    """
    if user.role not in STATISTICS_ROLES or not user.active:
        raise NotFound("statistics")


def cohort(session: Session, user: User, query: StatsQuery) -> Select[Any]:
    """SELECT of the visible instances started in the period (and of the process, if given).

    Raises:
        NotFound: the user may not see statistics.
    """
    ensure_may_view(user)
    stmt = access.visible_instances(session, user).where(
        ProcessInstance.started_at >= query.start_utc,
        ProcessInstance.started_at < query.end_utc,
    )
    if query.process_id:
        stmt = stmt.where(ProcessInstance.process_id == query.process_id)
    return stmt


def _group_key(group_by: GroupBy, row: Any) -> str:
    if group_by is GroupBy.ORG:
        return row.started_org or NO_KEY
    if group_by is GroupBy.TOWNSHIP:
        return row.township_code or NO_KEY
    if group_by is GroupBy.PROCESS:
        return str(row.process_id)
    return str(row.started_at.astimezone(LEGAL_TZ).strftime("%Y-%m"))


def _add(row: GroupRow, status: str, kinds: Iterable[str]) -> None:
    row.started += 1
    if status == InstanceStatus.COMPLETED:
        row.closed += 1
    elif status == InstanceStatus.CANCELLED:
        row.cancelled += 1
    elif status in OPEN_STATUSES:
        row.open += 1
    row.flagged.update(kinds)


def _flag_kinds(session: Session, ids: Select[Any]) -> dict[int, set[str]]:
    rows = session.execute(
        select(Flag.instance_id, Flag.kind).where(Flag.instance_id.in_(ids)).distinct()
    )
    found: dict[int, set[str]] = {}
    for instance_id, kind in rows:
        found.setdefault(instance_id, set()).add(str(kind))
    return found


def process_titles(session: Session) -> dict[str, str]:
    """Process id to the title of its latest deployed version."""
    rows = session.execute(
        select(
            ProcessDefinition.process_id, ProcessDefinition.name, ProcessDefinition.manifest
        ).order_by(ProcessDefinition.version)
    )
    return {pid: (manifest or {}).get("title") or name or pid for pid, name, manifest in rows}


def _labels(session: Session, group_by: GroupBy) -> dict[str, str]:
    if group_by is GroupBy.PROCESS:
        return process_titles(session)
    if group_by is GroupBy.MONTH:
        return {}
    return {
        code: name for code, name in session.execute(select(Organization.code, Organization.name))
    }


def group_rows(session: Session, stmt: Select[Any], group_by: GroupBy) -> list[GroupRow]:
    """The cohort counted per group, ordered by key (months chronologically)."""
    ids = stmt.with_only_columns(ProcessInstance.id)
    kinds = _flag_kinds(session, ids)
    rows = session.execute(
        stmt.with_only_columns(
            ProcessInstance.id,
            ProcessInstance.status,
            ProcessInstance.started_org,
            ProcessInstance.township_code,
            ProcessInstance.process_id,
            ProcessInstance.started_at,
        )
    )
    groups: dict[str, GroupRow] = {}
    for row in rows:
        key = _group_key(group_by, row)
        _add(groups.setdefault(key, GroupRow(key)), row.status, kinds.get(row.id, ()))
    labels = _labels(session, group_by)
    for group in groups.values():
        group.label = labels.get(group.key, group.key)
    return [groups[key] for key in sorted(groups)]


def total_row(groups: Iterable[GroupRow]) -> GroupRow:
    """The sum of the groups (each instance is in exactly one group)."""
    total = GroupRow("total")
    for group in groups:
        total.started += group.started
        total.closed += group.closed
        total.cancelled += group.cancelled
        total.open += group.open
        total.flagged.update(group.flagged)
    return total


def nearest_rank(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of `values` (`share` in (0, 1]); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _add_task(step: StepRow, task: Any, now: datetime, hours: list[float]) -> None:
    if task.status == TaskStatus.COMPLETED and task.completed_at is not None:
        step.completed += 1
        hours.append((task.completed_at - task.created_at).total_seconds() / 3600)
        if task.due_at is not None:
            if task.completed_at <= task.due_at:
                step.on_time += 1
            else:
                step.late += 1
    elif task.status == TaskStatus.OPEN and task.due_at is not None and task.due_at < now:
        step.open_overdue += 1
    if task.deadline and step.limit_text is None:
        step.limit_text = task.deadline.get("unit_text")
        step.limit_basis = task.deadline.get("basis")


def step_rows(session: Session, stmt: Select[Any], now: datetime) -> list[StepRow]:
    """Per process and user task of the cohort: timeliness and durations."""
    tasks = session.execute(
        select(
            HumanTask.process_id,
            HumanTask.bpmn_id,
            HumanTask.name,
            HumanTask.status,
            HumanTask.created_at,
            HumanTask.due_at,
            HumanTask.completed_at,
            HumanTask.deadline,
        )
        .where(HumanTask.instance_id.in_(stmt.with_only_columns(ProcessInstance.id)))
        .order_by(HumanTask.created_at.desc())
    )
    steps: dict[tuple[str, str], StepRow] = {}
    durations: dict[tuple[str, str], list[float]] = {}
    for task in tasks:
        key = (task.process_id, task.bpmn_id)
        step = steps.setdefault(key, StepRow(task.process_id, task.bpmn_id, task.name))
        _add_task(step, task, now, durations.setdefault(key, []))
    titles = process_titles(session)
    for key, step in steps.items():
        step.process_label = titles.get(step.process_id, step.process_id)
        step.median_hours = nearest_rank(durations[key], 0.5)
        step.p90_hours = nearest_rank(durations[key], 0.9)
    return [steps[key] for key in sorted(steps)]


def compute(session: Session, user: User, query: StatsQuery, *, now: datetime) -> Statistics:
    """Every figure of the statistics page for `user`.

    Raises:
        NotFound: the user may not see statistics.
    """
    stmt = cohort(session, user, query)
    groups = group_rows(session, stmt, query.group_by)
    return Statistics(query, groups, total_row(groups), step_rows(session, stmt, now), now)
