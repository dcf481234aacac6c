"""Bounded engine work: far timers and huge multi-instance tasks are refused before expanding.

Deploy refuses literal values; at run time an evaluated value beyond the limits ends the
instance in an incident naming the element, instead of SpiffWorkflow looping for minutes.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import WorkflowDefinitionError
from engine.execution import catalog
from engine.models import InstanceStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import fixture_path
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload

SMALL_RUN = {"notice_count": 2, "parties": ["甲", "乙"], "wait_for": "PT1H"}


def _start(
    session: Session, officer: User, settings: Settings, clock: Clock, **data: Any
) -> dict[str, Any]:
    deploy_fixture(session, "work_bounds")
    instance = instances.start_instance(
        session,
        process_id="work_bounds",
        data={**SMALL_RUN, **data},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    found = reload(session, instance.id)
    return {"status": found.status, **(found.error or {})}


def test_a_run_within_the_limits_waits_at_the_timer(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    outcome = _start(session, officer, settings, clock)

    assert outcome == {"status": InstanceStatus.WAITING}


@pytest.mark.parametrize(
    ("data", "element", "message"),
    [
        (
            {"notice_count": 10**6},
            "notify_each",
            "multi-instance cardinality 1000000 is more than the limit of 1000",
        ),
        (
            {"notice_count": "3"},
            "notify_each",
            "multi-instance cardinality must be an integer, not str",
        ),
        (
            {"parties": ["x"] * 1001},
            "record_each_party",
            "multi-instance collection 'parties' has 1001 items, more than the limit of 1000",
        ),
        (
            {"wait_for": "P99999999Y"},
            "wait_period",
            "timer duration 'P99999999Y' reaches beyond the 10-year horizon",
        ),
        (
            {"wait_for": "PT99999999999H"},
            "wait_period",
            "timer duration 'PT99999999999H' reaches beyond the 10-year horizon",
        ),
        ({"wait_for": "P1X"}, "wait_period", "invalid ISO 8601 duration 'P1X'"),
    ],
    ids=[
        "huge_cardinality",
        "text_cardinality",
        "long_collection",
        "far_years",
        "far_hours",
        "bad",
    ],
)
def test_a_value_beyond_the_limits_is_an_incident_at_its_element(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    data: dict[str, Any],
    element: str,
    message: str,
) -> None:
    outcome = _start(session, officer, settings, clock, **data)

    assert outcome["status"] == InstanceStatus.ERROR
    assert outcome["element"] == element
    assert message in outcome["message"]


def test_a_duration_of_exactly_the_horizon_is_allowed(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    outcome = _start(session, officer, settings, clock, wait_for="P10Y")

    assert outcome == {"status": InstanceStatus.WAITING}


def test_the_limits_follow_the_settings(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    tight = settings.with_overrides(max_multi_instance=1, timer_horizon_years=1)

    outcome = _start(session, officer, tight, clock, notice_count=1, parties=["甲"], wait_for="P2Y")

    assert outcome["element"] == "wait_period"
    assert "beyond the 1-year horizon" in outcome["message"]


def _bundle(old: str, new: str) -> catalog.ProcessBundle:
    bundle = catalog.read_folder(fixture_path("work_bounds"))
    text = bundle.files["work_bounds.bpmn"]
    assert old in text
    files = {"work_bounds.bpmn": text.replace(old, new)}
    return catalog.ProcessBundle(bundle.process_id, files, bundle.forms, bundle.manifest)


@pytest.mark.parametrize(
    ("old", "new", "element", "message"),
    [
        (
            "<bpmn:timeDuration>wait_for</bpmn:timeDuration>",
            '<bpmn:timeDuration>"P99999999Y"</bpmn:timeDuration>',
            "wait_period",
            "timer: timer duration 'P99999999Y' reaches beyond the 10-year horizon",
        ),
        (
            "<bpmn:timeDuration>wait_for</bpmn:timeDuration>",
            '<bpmn:timeDate>"9999-01-01T00:00:00+00:00"</bpmn:timeDate>',
            "wait_period",
            "timer: timer date '9999-01-01T00:00:00+00:00' is beyond the 10-year horizon",
        ),
        (
            "<bpmn:timeDuration>wait_for</bpmn:timeDuration>",
            '<bpmn:timeCycle>"R3/P99999999Y"</bpmn:timeCycle>',
            "wait_period",
            "timer: timer duration 'P99999999Y' reaches beyond the 10-year horizon",
        ),
        (
            "<bpmn:loopCardinality>notice_count</bpmn:loopCardinality>",
            "<bpmn:loopCardinality>1000000</bpmn:loopCardinality>",
            "notify_each",
            "cardinality: multi-instance cardinality 1000000 is more than the limit of 1000",
        ),
    ],
    ids=["duration", "date", "cycle", "cardinality"],
)
def test_a_literal_beyond_the_limits_is_refused_at_deploy(
    session: Session, old: str, new: str, element: str, message: str
) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        catalog.deploy(session, _bundle(old, new), actor="tester")

    [problem] = caught.value.problems
    assert (problem.file, problem.element, problem.message) == (
        "work_bounds.bpmn",
        element,
        message,
    )
    assert problem.line is not None


def test_a_literal_within_the_limits_deploys(session: Session) -> None:
    bundle = _bundle(
        "<bpmn:timeDuration>wait_for</bpmn:timeDuration>",
        '<bpmn:timeDuration>"P30D"</bpmn:timeDuration>',
    )

    definition, created = catalog.deploy(session, bundle, actor="tester")

    assert created and definition.process_id == "work_bounds"


def test_a_parallel_collection_over_the_limit_creates_no_task(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "mi_review")
    agencies = {f"a{i}": {"org": "YJS-SCJGJ", "topic": "x"} for i in range(3)}
    instance = instances.start_instance(
        session,
        process_id="mi_review",
        data={"agencies": agencies},
        user=officer,
        settings=settings.with_overrides(max_multi_instance=2),
        now=clock.now,
    )

    found = reload(session, instance.id)
    assert found.status == InstanceStatus.ERROR
    assert found.error is not None
    assert found.error["element"] == "agency_review"
    assert "'agencies' has 3 items, more than the limit of 2" in found.error["message"]
    assert open_tasks(session, instance.id) == []


def test_a_limit_hit_when_a_user_completes_a_task_is_an_incident_not_a_failure(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    bundle = _bundle(
        '<bpmn:sequenceFlow id="flow_to_notify" sourceRef="start" targetRef="notify_each" />',
        '<bpmn:sequenceFlow id="flow_to_fill" sourceRef="start" targetRef="fill_count" />'
        '<bpmn:userTask id="fill_count" name="填写数量"><bpmn:incoming>flow_to_fill'
        "</bpmn:incoming><bpmn:outgoing>flow_to_notify</bpmn:outgoing></bpmn:userTask>"
        '<bpmn:sequenceFlow id="flow_to_notify" sourceRef="fill_count" targetRef="notify_each" />',
    )
    bundle = catalog.ProcessBundle(
        bundle.process_id, bundle.files, {}, bundle.manifest, strict=False
    )
    catalog.deploy(session, bundle, actor="tester")
    instance = instances.start_instance(
        session,
        process_id="work_bounds",
        data=SMALL_RUN,
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [fill] = open_tasks(session, instance.id)

    instances.complete_task(
        session,
        task_id=fill.id,
        data={"notice_count": 10**6},
        user=officer,
        settings=settings,
        now=clock.now,
    )

    found = reload(session, instance.id)
    assert found.status == InstanceStatus.ERROR
    assert found.error is not None
    assert found.error["element"] == "notify_each"
    assert "cardinality 1000000 is more than the limit of 1000" in found.error["message"]


def test_a_loop_of_automatic_tasks_is_stopped_as_an_incident_that_can_be_retried(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "engine_loop")
    short = settings.with_overrides(step_time_budget_seconds=0.2)
    instance = instances.start_instance(
        session,
        process_id="engine_loop",
        data={"ticks": 0, "limit": 10**9},
        user=officer,
        settings=short,
        now=clock.now,
    )

    found = reload(session, instance.id)
    assert found.status == InstanceStatus.ERROR
    assert found.error is not None
    assert found.error["element"] in {"tick", "loop_again"}
    assert "without waiting (a loop of automatic tasks?)" in found.error["message"]

    instances.retry_instance(
        session, instance_id=instance.id, data_patch={"limit": 3}, actor="admin", settings=short
    )

    assert reload(session, instance.id).status == InstanceStatus.COMPLETED
