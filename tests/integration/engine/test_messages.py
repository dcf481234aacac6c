"""Messages by standard BPMN correlation, routed through the message_correlation rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import messages
from engine.errors import AmbiguousMessage
from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.models import AuditEvent
from engine.models import InstanceStatus
from engine.models import MessageCorrelation
from engine.models import MessageSubscription
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _start_cases(
    session: Session, officer: User, settings: Settings, clock: Clock, *case_numbers: Any
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


def _deliver(session: Session, settings: Settings, clock: Clock, **kwargs: Any) -> list[int]:
    return messages.deliver_message(
        session,
        name=kwargs.pop("name", "police_receipt"),
        correlation=kwargs.pop("correlation", {}),
        payload=kwargs.pop("payload", {}),
        actor="police-api",
        settings=settings,
        now=clock.now,
        **kwargs,
    )


def _correlation_rows(session: Session) -> list[tuple[int, str, str, str, str]]:
    rows = session.execute(
        select(
            MessageSubscription.instance_id,
            MessageCorrelation.message_name,
            MessageCorrelation.key_name,
            MessageCorrelation.property,
            MessageCorrelation.value,
        )
        .join(MessageSubscription, MessageSubscription.id == MessageCorrelation.subscription_id)
        .order_by(MessageSubscription.instance_id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_waiting_catch_event_stores_its_correlation_values_per_property(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, second = _start_cases(session, officer, settings, clock, "A-1", 42)

    assert _correlation_rows(session) == [
        (first, "police_receipt", "case_key", "case_no", '"A-1"'),
        (second, "police_receipt", "case_key", "case_no", "42"),
    ]
    [subscription] = session.scalars(
        select(MessageSubscription).where(MessageSubscription.instance_id == first)
    )
    assert (subscription.bpmn_id, subscription.properties) == ("wait_receipt", ["case_no"])
    assert json.loads(subscription.correlation) == {"case_no": "A-1"}
    assert reload(session, first).status == InstanceStatus.WAITING


def test_a_message_reaches_exactly_the_matching_instance_and_is_audited(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, second = _start_cases(session, officer, settings, clock, "A-1", "A-2")

    delivered = _deliver(
        session, settings, clock, correlation={"case_no": "A-2"}, payload={"decision": "ok"}
    )

    assert delivered == [second]
    assert [t.bpmn_id for t in open_tasks(session, second)] == ["handle_receipt"]
    assert open_tasks(session, first) == []
    assert reload(session, first).status == InstanceStatus.WAITING
    data = instances.instance_data(session, reload(session, second))
    assert data["receipt_payload"] == {"decision": "ok", "case_no": "A-2"}
    [audit] = session.scalars(
        select(AuditEvent).where(
            AuditEvent.instance_id == second, AuditEvent.kind == "message_received"
        )
    )
    assert audit.data_after == {"decision": "ok", "case_no": "A-2"}
    assert audit.detail == {"message": "police_receipt", "correlation": {"case_no": "A-2"}}
    assert [row[0] for row in _correlation_rows(session)] == [first]


def test_the_keyed_form_names_the_correlation_key(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, _second = _start_cases(session, officer, settings, clock, "A-1", "A-2")

    delivered = _deliver(session, settings, clock, correlation={"case_key": {"case_no": "A-1"}})

    assert delivered == [first]


def test_a_number_and_its_text_are_different_values(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    [case] = _start_cases(session, officer, settings, clock, 42)

    with pytest.raises(NotFound):
        _deliver(session, settings, clock, correlation={"case_no": "42"})
    assert _deliver(session, settings, clock, correlation={"case_no": 42}) == [case]


def test_a_payload_contradicting_the_correlation_is_refused(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    [case] = _start_cases(session, officer, settings, clock, "A-1")

    with pytest.raises(InvalidTaskData) as refused:
        _deliver(session, settings, clock, correlation={"case_no": "A-1"}, payload={"case_no": "B"})
    assert list(refused.value.field_errors) == ["correlation.case_no"]
    assert reload(session, case).status == InstanceStatus.WAITING


def test_a_message_without_the_correlation_values_names_the_missing_property(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _start_cases(session, officer, settings, clock, "A-1", "A-2")

    with pytest.raises(InvalidTaskData) as refused:
        _deliver(session, settings, clock, payload={"decision": "ok"})

    assert list(refused.value.field_errors) == ["correlation.case_no"]
    assert "case_no" in str(refused.value)


def test_a_message_matching_several_instances_is_ambiguous_and_delivers_nothing(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    first, second, _other = _start_cases(session, officer, settings, clock, "S", "S", "T")

    with pytest.raises(AmbiguousMessage) as refused:
        _deliver(session, settings, clock, correlation={"case_no": "S"})

    assert refused.value.count == 2
    assert open_tasks(session, first) == open_tasks(session, second) == []
    assert _deliver(session, settings, clock, correlation={"case_no": "S"}, deliver_all=True) == [
        first,
        second,
    ]
    assert len(open_tasks(session, first)) == len(open_tasks(session, second)) == 1


def test_a_message_nobody_waits_for_is_not_found(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _start_cases(session, officer, settings, clock, "A-1")

    with pytest.raises(NotFound, match="police_receipt"):
        _deliver(session, settings, clock, correlation={"case_no": "B-9"})
    with pytest.raises(NotFound, match="other_message"):
        _deliver(session, settings, clock, name="other_message", correlation={"case_no": "A-1"})


def test_a_second_delivery_after_the_catch_is_not_found(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    [case] = _start_cases(session, officer, settings, clock, "A-1")
    _deliver(session, settings, clock, correlation={"case_no": "A-1"})

    with pytest.raises(NotFound):
        _deliver(session, settings, clock, correlation={"case_no": "A-1"})
    assert reload(session, case).status == InstanceStatus.RUNNING


def test_mixed_correlation_forms_are_refused(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    _start_cases(session, officer, settings, clock, "A-1")

    with pytest.raises(InvalidTaskData):
        _deliver(session, settings, clock, correlation={"case_no": "A-1", "k": {"p": 1}})


def test_a_catch_without_correlation_takes_only_messages_without_values(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "message_plain")
    case = instances.start_instance(
        session,
        process_id="message_plain",
        data={"case_no": "P-1"},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id

    with pytest.raises(NotFound):
        _deliver(session, settings, clock, name="notice", correlation={"case_no": "P-1"})
    assert _deliver(session, settings, clock, name="notice", payload={"text": "hi"}) == [case]
    data = instances.instance_data(session, reload(session, case))
    assert data["notice_payload"] == {"text": "hi"}
