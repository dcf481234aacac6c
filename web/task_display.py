"""Rows the task lists show: a HumanTask with its instance, organization, people and light."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from engine.cases import inbox
from engine.models import HumanTask
from engine.models import Organization
from engine.models import ProcessInstance
from engine.models import User
from web.auth import current_user
from web.filters import localtime


@dataclass(frozen=True)
class TaskRow:
    """One task as a list shows it; `light` is None for closed tasks."""

    task: HumanTask
    instance: ProcessInstance
    org_name: str
    light: str | None
    assignee: User | None
    completed_by: User | None

    @property
    def deadline(self) -> dict[str, Any]:
        return self.task.deadline or {}


def _by_id(session: Session, model: Any, ids: Iterable[Any]) -> dict[Any, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    key = model.code if model is Organization else model.id
    query = select(model).where(key.in_(wanted))
    if model is ProcessInstance:
        query = query.options(defer(ProcessInstance.state_json))
    rows = session.scalars(query)
    return {(r.code if model is Organization else r.id): r for r in rows}


def task_rows(
    session: Session, tasks: Sequence[HumanTask], *, now: datetime | None
) -> list[TaskRow]:
    """Display rows for tasks; open ones get their traffic light as of `now`."""
    instances = _by_id(session, ProcessInstance, (t.instance_id for t in tasks))
    orgs = _by_id(session, Organization, (t.org_code for t in tasks))
    people = _by_id(session, User, [i for t in tasks for i in (t.assignee_id, t.completed_by_id)])
    return [
        TaskRow(
            task=t,
            instance=instances[t.instance_id],
            org_name=orgs[t.org_code].name if t.org_code in orgs else "",
            light=inbox.task_light(t, now) if now is not None and t.status == "open" else None,
            assignee=people.get(t.assignee_id),
            completed_by=people.get(t.completed_by_id),
        )
        for t in tasks
    ]


def signed_in_user() -> User:
    """The request's user, in views guarded by `login_required` (401 should it be missing)."""
    user = current_user()
    if user is None:
        abort(401)
    return user


def iso_localtime(value: object) -> str:
    """An ISO 8601 timestamp from a deadline explanation, shown in Beijing time."""
    if not isinstance(value, str):
        return ""
    try:
        return localtime(datetime.fromisoformat(value))
    except ValueError:
        return value


@dataclass(frozen=True)
class ContextItem:
    """One piece of case data a task form asks to show beside it (`x-xietong-context`)."""

    title: str
    text: str | None = None
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    verify_record: int | None = None


def _at_path(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _context_item(spec: Mapping[str, Any], data: Mapping[str, Any]) -> ContextItem | None:
    value = _at_path(data, str(spec.get("path", "")))
    title = str(spec.get("title") or spec.get("path"))
    if value is None or value in ([], {}, ""):
        return None
    if spec.get("kind") == "draw_record" and isinstance(value, int):
        return ContextItem(title, text=f"#{value}", verify_record=value)
    columns: Mapping[str, str] = spec.get("columns") or {}
    if isinstance(value, list) and columns and all(isinstance(v, Mapping) for v in value):
        rows = tuple(tuple(str(item.get(key, "")) for key in columns) for item in value)
        return ContextItem(title, headers=tuple(columns.values()), rows=rows)
    if isinstance(value, list):
        return ContextItem(title, text="、".join(str(v) for v in value))
    return ContextItem(title, text=str(value))


def context_items(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[ContextItem]:
    """The case data a form declares under `x-xietong-context`, ready to show."""
    specs = schema.get("x-xietong-context") or []
    items = (_context_item(spec, data) for spec in specs if isinstance(spec, Mapping))
    return [item for item in items if item is not None]
