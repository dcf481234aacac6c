"""Message catch with correlation: delivered through the message_subscription table."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import NotFound
from engine.models import InstanceStatus
from engine.models import MessageSubscription
from engine.models import ProcessInstance
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _start_cases(
    session: Session, officer: User, settings: Settings, clock: Clock, *case_numbers: str
) -> list[int]:
    deploy_fixture(session, "message_wait")
    return [
        instances.start_instance(
            session,
            process_id="message_wait",
            data={"case_no": case_no},
            user=officer,
            settings=settings,
            now=clock.now,
        ).id
        for case_no in case_numbers
    ]


def _subscriptions(session: Session) -> list[tuple[int, str, dict[str, str], str | None]]:
    rows = session.execute(
        select(
            MessageSubscription.instance_id,
            MessageSubscription.message_name,
            MessageSubscription.correlation,
            MessageSubscription.bpmn_id,
        ).order_by(MessageSubscription.instance_id)
    )
    return [(i, name, json.loads(corr), bpmn_id) for i, name, corr, bpmn_id in rows]


def test_a_waiting_catch_event_is_a_subscription_row(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, second = _start_cases(session, officer, settings, clock, "A-1", "A-2")

    assert _subscriptions(session) == [
        (first, "police_receipt", {"case_no": "A-1"}, "wait_receipt"),
        (second, "police_receipt", {"case_no": "A-2"}, "wait_receipt"),
    ]
    assert reload(session, first).status == InstanceStatus.WAITING


def test_a_message_reaches_exactly_the_matching_instance(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, second = _start_cases(session, officer, settings, clock, "A-1", "A-2")

    delivered = instances.deliver_message(
        session,
        name="police_receipt",
        correlation={"case_no": "A-2"},
        payload={"decision": "accepted"},
        actor="police-api",
        settings=settings,
        now=clock.now,
    )

    assert delivered == [second]
    assert [t.bpmn_id for t in open_tasks(session, second)] == ["handle_receipt"]
    assert open_tasks(session, first) == []
    assert reload(session, first).status == InstanceStatus.WAITING
    data = instances.instance_data(session, reload(session, second))
    assert data["receipt_payload"] == {"decision": "accepted"}
    assert [s[0] for s in _subscriptions(session)] == [first]


def test_a_message_nobody_waits_for_is_not_found(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _start_cases(session, officer, settings, clock, "A-1")

    with pytest.raises(NotFound, match="police_receipt"):
        instances.deliver_message(
            session,
            name="police_receipt",
            correlation={"case_no": "B-9"},
            payload={},
            actor="police-api",
            settings=settings,
            now=clock.now,
        )


def test_a_second_delivery_after_the_catch_is_not_found(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    [case] = _start_cases(session, officer, settings, clock, "A-1")
    kwargs = {
        "name": "police_receipt",
        "correlation": {"case_no": "A-1"},
        "payload": {},
        "actor": "police-api",
        "settings": settings,
        "now": clock.now,
    }
    instances.deliver_message(session, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(NotFound):
        instances.deliver_message(session, **kwargs)  # type: ignore[arg-type]
    assert session.get(ProcessInstance, case) is not None
