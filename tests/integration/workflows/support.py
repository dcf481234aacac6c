"""Helpers for driving the domain models through the engine services, step by step.

Every call goes through engine.cases.instances, which loads the instance from its stored JSON
and saves it again: each step of a test is a save and reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import messages
from engine.execution import runner
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock


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


# A lane is served by one (organization, role) and, in these tests, one demo user.
Route = tuple[str, str, str]


def at(text: str) -> datetime:
    """An aware moment written in Beijing time, e.g. at("2026-03-16T09:00:00+08:00")."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


def day_end(day: str) -> str:
    """The due moment of a day deadline: the last instant of that day in Beijing time."""
    return f"{day}T23:59:59.999999+08:00"


class Case:
    """One instance of a model whose lanes map to the demo users in `routes`."""

    def __init__(
        self,
        session: Session,
        instance_id: int,
        *,
        lanes: Mapping[str, str],
        routes: Mapping[str, Route],
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.session = session
        self.id = instance_id
        self.lanes = lanes
        self.routes = routes
        self.settings = settings
        self.clock = clock

    def open_ids(self) -> list[str]:
        return sorted(task.bpmn_id for task in open_tasks(self.session, self.id))

    def expect(self, bpmn_id: str) -> HumanTask:
        """The open task `bpmn_id`, asserted to be routed to its lane's organization and role."""
        task = open_task(self.session, self.id, bpmn_id)
        lane = self.lanes[bpmn_id]
        org, role, _username = self.routes[lane]
        assert (task.lane, task.org_code, task.role) == (lane, org, role), bpmn_id
        assert task.assignee_id is None, "lane tasks go to the organization's role, not a person"
        return task

    def do(self, bpmn_id: str, data: Mapping[str, Any], when: str) -> HumanTask:
        """Complete the open task `bpmn_id` as its lane's demo user at `when`."""
        task = self.expect(bpmn_id)
        username = self.routes[self.lanes[bpmn_id]][2]
        instances.complete_task(
            self.session,
            task_id=task.id,
            data=data,
            user=user(self.session, username),
            settings=self.settings,
            now=self._tick(when),
        )
        return task

    def message(
        self, name: str, correlation: Mapping[str, Any], payload: Mapping[str, Any], when: str
    ) -> None:
        """Deliver a message from another system; it must reach exactly this instance."""
        reached = messages.deliver_message(
            self.session,
            name=name,
            correlation=correlation,
            payload=payload,
            actor="police_system",
            settings=self.settings,
            now=self._tick(when),
        )
        assert reached == [self.id]

    def advance(self, when: str) -> None:
        """Fire the timers due at `when` (the timer job's step)."""
        runner.advance_instance(
            self.session,
            instance_id=self.id,
            actor="timer",
            settings=self.settings,
            now=self._tick(when),
        )

    def data(self) -> dict[str, Any]:
        return data_of(self.session, self.id)

    def status(self) -> InstanceStatus:
        return instances.get_instance(self.session, self.id).status

    def _tick(self, when: str) -> datetime:
        moment = at(when)
        if self.clock is not None:
            self.clock.now = moment
        return moment


def assert_deadline(
    task: HumanTask,
    *,
    start: str,
    due: str,
    unit: str,
    deadline_id: str | None,
    skipped: list[str] | None = None,
) -> None:
    """The task's projected due moment and the explanation stored with it."""
    assert task.deadline is not None, f"{task.bpmn_id} declares no deadline"
    assert task.due_at == at(due), task.bpmn_id
    explanation = task.deadline
    assert (explanation["start"], explanation["due"], explanation["unit"]) == (start, due, unit)
    assert explanation["deadline_id"] == deadline_id
    if skipped is not None:
        assert [item["date"] for item in explanation["skipped"]] == skipped


def assert_case_clock(task: HumanTask, *, start: str, due: str) -> None:
    """A task whose due moment is that of the 90-day case clock (paused time excluded)."""
    assert task.deadline is not None, f"{task.bpmn_id} shows no clock deadline"
    assert task.due_at == at(due), task.bpmn_id
    explanation = task.deadline
    assert (explanation["start"], explanation["due"], explanation["rule"]) == (start, due, "90cd")


def case_clock(session: Session, instance_id: int) -> dict[str, Any]:
    return instances.get_instance(session, instance_id).clocks["case_90"]
