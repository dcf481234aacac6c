"""Query helpers for engine integration tests: every assertion reads fresh rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """Open human tasks of an instance, read from the database (not the identity map)."""
    session.expire_all()
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
            .order_by(HumanTask.id)
        )
    )


def task_statuses(session: Session, instance_id: int) -> dict[str, str]:
    session.expire_all()
    rows = session.execute(
        select(HumanTask.bpmn_id, HumanTask.status)
        .where(HumanTask.instance_id == instance_id)
        .order_by(HumanTask.id)
    )
    return {bpmn_id: str(status) for bpmn_id, status in rows}


def reload(session: Session, instance_id: int) -> ProcessInstance:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance


def audit_kinds(session: Session, instance_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.kind)
            .where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.id)
        )
    )
