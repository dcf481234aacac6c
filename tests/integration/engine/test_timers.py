"""Boundary timers fired by advance_instance after moving a controllable clock (no sleeping)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.execution import runner
from engine.models import AuditEvent
from engine.models import InstanceStatus
from engine.models import TimerProjection
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload
from tests.integration.engine.support import task_statuses


def _timer_rows(session: Session, instance_id: int) -> list[tuple[str | None, object]]:
    rows = session.execute(
        select(TimerProjection.bpmn_id, TimerProjection.due_at)
        .where(TimerProjection.instance_id == instance_id)
        .order_by(TimerProjection.due_at)
    )
    return [(bpmn_id, due_at) for bpmn_id, due_at in rows]


def _start(session: Session, officer: User, settings: Settings, clock: Clock) -> int:
    deploy_fixture(session, "timer_escalation")
    instance = instances.start_instance(
        session,
        process_id="timer_escalation",
        data={},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return instance.id


def test_a_waiting_boundary_timer_sets_next_timer_at_and_its_projection(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)

    instance = reload(session, instance_id)

    assert instance.next_timer_at == clock.now + timedelta(hours=1)
    assert _timer_rows(session, instance_id) == [
        ("prepare_reminder", clock.now + timedelta(hours=1))
    ]


def test_advancing_before_the_due_time_changes_nothing(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    due = clock.now + timedelta(hours=1)
    kinds_before = audit_kinds(session, instance_id)

    clock.advance(minutes=59)
    runner.advance_instance(
        session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
    )

    assert reload(session, instance_id).next_timer_at == due
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["prepare"]
    assert audit_kinds(session, instance_id) == kinds_before


def test_non_interrupting_timer_runs_its_branch_and_keeps_the_task(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [prepare] = open_tasks(session, instance_id)

    clock.advance(hours=1, seconds=1)
    runner.advance_instance(
        session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
    )

    instance = reload(session, instance_id)
    assert [t.id for t in open_tasks(session, instance_id)] == [prepare.id]
    assert instance.next_timer_at is None
    assert _timer_rows(session, instance_id) == []
    assert instances.instance_data(session, instance)["reminded"] is True


def test_interrupting_timer_cancels_the_task_and_opens_the_escalation(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [prepare] = open_tasks(session, instance_id)
    instances.complete_task(
        session,
        task_id=prepare.id,
        data={"note": "齐了"},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    decided_at = clock.now
    assert reload(session, instance_id).next_timer_at == decided_at + timedelta(hours=2)
    assert _timer_rows(session, instance_id) == [
        ("decide_overdue", decided_at + timedelta(hours=2))
    ]

    clock.advance(hours=2, seconds=1)
    runner.advance_instance(
        session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
    )

    assert task_statuses(session, instance_id) == {
        "prepare": "completed",
        "decide": "cancelled",
        "escalated": "open",
    }
    instance = reload(session, instance_id)
    assert (instance.status, instance.next_timer_at) == (InstanceStatus.RUNNING, None)
    assert _timer_rows(session, instance_id) == []


def test_completing_the_task_in_time_removes_its_timer(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock)
    [prepare] = open_tasks(session, instance_id)
    instances.complete_task(
        session, task_id=prepare.id, data={}, user=officer, settings=settings, now=clock.now
    )
    [decide] = open_tasks(session, instance_id)

    clock.advance(minutes=30)
    instances.complete_task(
        session, task_id=decide.id, data={}, user=officer, settings=settings, now=clock.now
    )

    instance = reload(session, instance_id)
    assert (instance.status, instance.next_timer_at) == (InstanceStatus.COMPLETED, None)
    assert _timer_rows(session, instance_id) == []


def test_a_cycle_timer_fires_each_period_then_stops(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "timer_cycle")
    instance_id = instances.start_instance(
        session, process_id="timer_cycle", data={}, user=officer, settings=settings, now=clock.now
    ).id
    started = clock.now
    assert reload(session, instance_id).next_timer_at == started + timedelta(hours=1)

    fired: list[tuple[int, datetime | None]] = []
    for _ in range(3):
        clock.advance(hours=1, seconds=1)
        runner.advance_instance(
            session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
        )
        fired.append(
            (_reminders_sent(session, instance_id), reload(session, instance_id).next_timer_at)
        )

    assert fired == [
        (1, started + timedelta(hours=2)),
        (2, None),
        (2, None),
    ]
    assert [t.bpmn_id for t in open_tasks(session, instance_id)] == ["work"]


def _reminders_sent(session: Session, instance_id: int) -> int:
    rows = session.scalars(
        select(AuditEvent.id).where(
            AuditEvent.instance_id == instance_id,
            AuditEvent.kind == "engine_step",
            AuditEvent.bpmn_id == "send_reminder",
        )
    )
    return len(list(rows))
