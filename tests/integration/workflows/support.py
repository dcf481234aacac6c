"""Helpers for driving the domain models through the engine services, step by step.

Every call goes through engine.instances, which loads the instance from its stored JSON
and saves it again: each step of a test is a save and reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import instances
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User


def user(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username))
    assert found is not None, f"no demo user {username}"
    return found


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
            .order_by(HumanTask.id)
        )
    )


def open_task(session: Session, instance_id: int, bpmn_id: str) -> HumanTask:
    """The single open task with this id; fails listing what is open instead."""
    matches = [t for t in open_tasks(session, instance_id) if t.bpmn_id == bpmn_id]
    names = [t.bpmn_id for t in open_tasks(session, instance_id)]
    assert len(matches) == 1, f"expected one open {bpmn_id}, open tasks: {names}"
    return matches[0]


def complete(
    session: Session,
    task: HumanTask,
    username: str,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    reason: str | None = None,
) -> ProcessInstance:
    """Complete a task as a demo user (the task must be routed to that user)."""
    return instances.complete_task(
        session,
        task_id=task.id,
        data=data,
        user=user(session, username),
        on_behalf_reason=reason,
        now=now,
    )


def data_of(session: Session, instance_id: int) -> dict[str, Any]:
    return instances.instance_data(session, instances.get_instance(session, instance_id))


def children(session: Session, instance_id: int) -> list[ProcessInstance]:
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.parent_id == instance_id)
            .order_by(ProcessInstance.id)
        )
    )
