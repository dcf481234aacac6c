"""Every kind of wait is projected: timers, subscriptions, instance.waits, and it fires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import messages
from engine.execution import runner
from engine.models import AuditEvent
from engine.models import InstanceStatus
from engine.models import MessageSubscription
from engine.models import TimerProjection
from engine.models import User
from engine.monitoring import stalls
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _start(
    session: Session, officer: User, settings: Settings, clock: Clock, name: str, **data: Any
) -> int:
    deploy_fixture(session, name)
    return instances.start_instance(
        session, process_id=name, data=data, user=officer, settings=settings, now=clock.now
    ).id


def _timers(session: Session, instance_id: int) -> list[tuple[str | None, object]]:
    rows = session.execute(
        select(TimerProjection.bpmn_id, TimerProjection.due_at)
        .where(TimerProjection.instance_id == instance_id)
        .order_by(TimerProjection.due_at)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _subscriptions(session: Session, instance_id: int) -> list[tuple[str, str, str | None]]:
    rows = session.execute(
        select(
            MessageSubscription.kind, MessageSubscription.message_name, MessageSubscription.bpmn_id
        )
        .where(MessageSubscription.instance_id == instance_id)
        .order_by(MessageSubscription.kind, MessageSubscription.message_name)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def engine_steps(session: Session, instance_id: int) -> list[str | None]:
    return list(
        session.scalars(
            select(AuditEvent.bpmn_id)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.kind == "engine_step")
            .order_by(AuditEvent.id)
        )
    )


def _advance(session: Session, settings: Settings, clock: Clock, instance_id: int) -> None:
    runner.advance_instance(
        session, instance_id=instance_id, actor="timer", settings=settings, now=clock.now
    )


def _open(session: Session, instance_id: int) -> list[str]:
    return [t.bpmn_id for t in open_tasks(session, instance_id)]


def _waiting_ids(session: Session, instance_id: int) -> dict[str, list[str]]:
    waits = reload(session, instance_id).waits
    return {kind: [w["bpmn_id"] for w in waits.get(kind, [])] for kind in sorted(waits)}


def test_an_event_based_gateway_projects_its_message_timer_and_signal_branches(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, "event_gateway", case_no="G-1")

    assert _timers(session, instance_id) == [("wait_deadline", clock.now + timedelta(hours=2))]
    assert reload(session, instance_id).next_timer_at == clock.now + timedelta(hours=2)
    assert _subscriptions(session, instance_id) == [
        ("message", "reply", "wait_reply"),
        ("signal", "recall", "wait_recall"),
    ]
    assert _waiting_ids(session, instance_id) == {
        "messages": ["wait_reply"],
        "signals": ["wait_recall"],
        "timers": ["wait_deadline"],
    }


def test_the_gateway_timer_branch_fires_from_the_timer_step(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, "event_gateway", case_no="G-1")
    clock.advance(hours=2, seconds=1)

    _advance(session, settings, clock, instance_id)

    assert _open(session, instance_id) == ["handle_timeout"]
    assert _timers(session, instance_id) == _subscriptions(session, instance_id) == []


def test_the_gateway_message_branch_takes_a_correlated_message(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, "event_gateway", case_no="G-1")
    other = _start(session, officer, settings, clock, "event_gateway", case_no="G-2")

    delivered = messages.deliver_message(
        session,
        name="reply",
        correlation={"case_no": "G-1"},
        payload={"answer": "yes"},
        actor="api",
        settings=settings,
        now=clock.now,
    )

    assert delivered == [instance_id]
    assert _open(session, instance_id) == ["handle_reply"]
    assert reload(session, instance_id).next_timer_at is None
    assert _open(session, other) == []


def test_the_gateway_signal_branch_takes_a_signal(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, "event_gateway", case_no="G-1")

    delivered = messages.deliver_signal(
        session, name="recall", payload={}, actor="api", settings=settings, now=clock.now
    )

    assert delivered == [instance_id]
    assert _open(session, instance_id) == ["handle_recall"]


def test_a_receive_task_is_a_correlated_subscription(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first = _start(session, officer, settings, clock, "receive_task", case_no="R-1")
    second = _start(session, officer, settings, clock, "receive_task", case_no="R-2")
    assert _subscriptions(session, first) == [("message", "reply", "receive_reply")]

    delivered = messages.deliver_message(
        session,
        name="reply",
        correlation={"case_no": "R-2"},
        payload={"answer": "no"},
        actor="api",
        settings=settings,
        now=clock.now,
    )

    assert delivered == [second]
    assert _open(session, second) == ["handle_reply"]
    assert instances.instance_data(session, reload(session, second))["reply_payload"] == {
        "answer": "no",
        "case_no": "R-2",
    }


def test_a_signal_reaches_every_instance_waiting_on_it(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first = _start(session, officer, settings, clock, "signal_catch")
    second = _start(session, officer, settings, clock, "signal_catch")
    assert _subscriptions(session, first) == [("signal", "policy_changed", "wait_policy")]
    assert reload(session, first).status == InstanceStatus.WAITING

    delivered = messages.deliver_signal(
        session, name="policy_changed", payload={}, actor="api", settings=settings, now=clock.now
    )

    assert delivered == [first, second]
    assert _open(session, first) == _open(session, second) == ["review"]
    assert _subscriptions(session, first) == []


def test_timers_inside_subprocesses_and_event_subprocesses_are_projected_and_fire(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    start = clock.now
    instance_id = _start(session, officer, settings, clock, "subprocess_waits", case_no="S-1")

    assert _timers(session, instance_id) == [
        ("remind_start", start + timedelta(hours=1)),
        ("cooling_off", start + timedelta(hours=3)),
    ]
    assert _subscriptions(session, instance_id) == [("message", "withdraw", "withdraw_start")]

    clock.advance(hours=1, seconds=1)
    _advance(session, settings, clock, instance_id)
    assert _timers(session, instance_id) == [("cooling_off", start + timedelta(hours=3))]

    clock.advance(hours=2)
    _advance(session, settings, clock, instance_id)
    assert _open(session, instance_id) == ["confirm"]
    assert _timers(session, instance_id) == []


def test_an_event_subprocess_message_start_takes_a_correlated_message(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start(session, officer, settings, clock, "subprocess_waits", case_no="S-1")
    _start(session, officer, settings, clock, "subprocess_waits", case_no="S-2")

    delivered = messages.deliver_message(
        session,
        name="withdraw",
        correlation={"case_no": "S-1"},
        payload={},
        actor="api",
        settings=settings,
        now=clock.now,
    )

    assert delivered == [instance_id]
    assert "withdrawn" in engine_steps(session, instance_id)
    # SpiffWorkflow runs the event subprocess beside the main flow, which waits on (and would
    # start the event subprocess again on another such message).
    assert _subscriptions(session, instance_id) == [("message", "withdraw", "withdraw_start")]
    assert [t[0] for t in _timers(session, instance_id)] == ["remind_start", "cooling_off"]


def test_a_non_interrupting_cycle_timer_is_projected_for_each_repetition(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    start = clock.now
    instance_id = _start(session, officer, settings, clock, "timer_cycle")
    assert _timers(session, instance_id) == [("work_reminder", start + timedelta(hours=1))]

    clock.advance(hours=1, seconds=1)
    _advance(session, settings, clock, instance_id)

    assert _timers(session, instance_id) == [("work_reminder", start + timedelta(hours=2))]
    assert _open(session, instance_id) == ["work"]
    clock.advance(hours=1)
    _advance(session, settings, clock, instance_id)
    assert _timers(session, instance_id) == []


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("event_gateway", {"case_no": "W-1"}, {"wait_reply", "wait_recall"}),
        ("receive_task", {"case_no": "W-1"}, {"receive_reply"}),
        ("signal_catch", {}, {"wait_policy"}),
        ("subprocess_waits", {"case_no": "W-1"}, {"withdraw_start"}),
    ],
)
def test_the_stall_monitor_sees_each_kind_of_wait(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    name: str,
    data: dict[str, Any],
    expected: set[str],
) -> None:
    instance_id = _start(session, officer, settings, clock, name, **data)

    waits = stalls.waits_of(session, reload(session, instance_id), [], settings)

    # Timers count only with a threshold of their own; the timers here have none.
    assert {w.bpmn_id for w in waits} | set(
        _waiting_ids(session, instance_id)["timers"]
    ) >= expected
    assert {w.bpmn_id for w in waits} >= expected - set(
        _waiting_ids(session, instance_id)["timers"]
    )
