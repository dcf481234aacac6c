"""BPMN semantics against SpiffWorkflow's own test models (read from the shared corpus).

The oracle is raw SpiffWorkflow 3.2.0: the same model with the same inputs must end the same
way through Xietong's engine (conformance README, "Engine, differentially").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.execution import processes
from engine.execution.uploads import UploadedFile
from engine.models import InstanceStatus
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import make_user
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload
from tests.integration.engine.support import task_statuses

# The corpus sits beside the repository (../shared/conformance/), never inside it.
CORPUS = (
    (Path(__file__).resolve().parents[4] / "shared" / "conformance" / "spiffworkflow-tests")
    / "bpmn"
    / "data"
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared conformance corpus absent")


@pytest.fixture
def admin(session: Session) -> User:
    return make_user(session, username="admin_a", org_code="YJS-SCJGJ", role=Role.ADMIN)


def _raw(name: str, process_id: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(CORPUS / name))
    workflow = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
    workflow.do_engine_steps()
    return workflow


def _start_corpus(
    session: Session, officer: User, settings: Settings, clock: Clock, name: str
) -> int:
    upload = UploadedFile(name, (CORPUS / name).read_bytes())
    [(definition, _created)] = processes.deploy_files(session, [upload], actor="tester")
    return instances.start_instance(
        session,
        process_id=definition.process_id,
        data={},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id


def _complete(
    session: Session, officer: User, settings: Settings, clock: Clock, instance_id: int, **data: Any
) -> None:
    task = open_tasks(session, instance_id)[0]
    instances.complete_task(
        session, task_id=task.id, data=data, user=officer, settings=settings, now=clock.now
    )


@needs_corpus
def test_an_uncaught_escalation_completes_the_instance_as_in_spiffworkflow(
    session: Session, admin: User, settings: Settings, clock: Clock
) -> None:
    raw = _raw("uncaught_escalation.bpmn", "top_level")
    instance_id = _start_corpus(session, admin, settings, clock, "uncaught_escalation.bpmn")

    instance = reload(session, instance_id)
    assert raw.is_completed()
    assert (instance.status, instance.error) == (InstanceStatus.COMPLETED, None)
    assert "uncaught_escalation" in audit_kinds(session, instance_id)


@needs_corpus
def test_an_io_specification_on_a_task_filters_its_data_as_in_spiffworkflow(
    session: Session, admin: User, settings: Settings, clock: Clock
) -> None:
    raw = _raw("io_spec_on_task.bpmn", "main")
    [raw_task] = raw.get_tasks(state=TaskState.READY, manual=True)
    instance_id = _start_corpus(session, admin, settings, clock, "io_spec_on_task.bpmn")
    [task] = open_tasks(session, instance_id)

    view = instances.get_task_view(session, task.id)
    assert view.data == raw_task.data == {"in_1": 1, "in_2": "hello world"}

    _complete(session, admin, settings, clock, instance_id, out_1=2, out_2="HELLO WORLD")
    raw_task.data.update(out_1=2, out_2="HELLO WORLD")
    raw_task.run()
    raw.do_engine_steps()
    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED and raw.is_completed()
    assert (
        instances.instance_data(session, instance)
        == raw.data
        == {
            "out_1": 2,
            "out_2": "HELLO WORLD",
        }
    )


@needs_corpus
def test_data_objects_flow_between_tasks_as_in_spiffworkflow(
    session: Session, admin: User, settings: Settings, clock: Clock
) -> None:
    instance_id = _start_corpus(session, admin, settings, clock, "data_object.bpmn")
    raw = _raw("data_object.bpmn", "Process")

    for data in ({"obj_1": "hello"}, {}):
        _complete(session, admin, settings, clock, instance_id, **data)
        raw_task = raw.get_next_task(state=TaskState.READY, manual=True)
        raw_task.data.update(data)
        raw_task.run()
        raw.do_engine_steps()
    [read] = open_tasks(session, instance_id)
    raw_read = raw.get_next_task(state=TaskState.READY, manual=True)

    assert read.bpmn_id == raw_read.task_spec.bpmn_id == "read_data"
    assert instances.get_task_view(session, read.id).data["obj_1"] == raw_read.data["obj_1"]
    assert raw_read.data["obj_1"] == "hello"


def test_a_terminate_end_event_ends_the_whole_instance(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "terminate_end")
    instance_id = instances.start_instance(
        session, process_id="terminate_end", data={}, user=officer, settings=settings, now=clock.now
    ).id
    assert {t.bpmn_id for t in open_tasks(session, instance_id)} == {"slow_review", "decide"}

    _complete(session, officer, settings, clock, instance_id, stop=True)

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    assert task_statuses(session, instance_id)["slow_review"] == TaskStatus.CANCELLED
