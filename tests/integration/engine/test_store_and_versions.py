"""Store round trip, and deployment versioning: no-op, new version, instances keep theirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from SpiffWorkflow import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.execution import catalog
from engine.execution import processes
from engine.execution import store
from engine.models import InstanceStatus
from engine.models import ProcessDefinition
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import fixture_path
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload


def _task_summary(workflow: object) -> list[tuple[str, str, str]]:
    tasks = workflow.get_tasks()  # type: ignore[attr-defined]
    return sorted((str(t.id), t.task_spec.name, TaskState.get_name(t.state)) for t in tasks)


def test_dump_and_load_keep_tasks_and_data(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    definition = deploy_fixture(session, "parallel_review")
    instance = instances.start_instance(
        session,
        process_id="parallel_review",
        data={"agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    parsed = catalog.get_parsed(definition)

    workflow = store.load_state(instance.state_json, parsed, instance.serializer_version)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    ready[0].data["agency_view"] = "留痕"
    again = store.load_state(store.dump_state(workflow), parsed, store.SERIALIZER_VERSION)

    assert _task_summary(again) == _task_summary(workflow)
    assert {str(t.id): t.data for t in again.get_tasks()} == {
        str(t.id): t.data for t in workflow.get_tasks()
    }
    assert "spec" not in json.loads(instance.state_json)
    assert sorted(t.task_spec.bpmn_id for t in ready) == ["agency_opinion", "police_opinion"]


def test_load_refuses_another_serializer_format(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    definition = deploy_fixture(session, "seq_gateway")
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "x", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )

    with pytest.raises(ValueError, match=r"serializer format 1\.4"):
        store.load_state(instance.state_json, catalog.get_parsed(definition), "1.4")


def _copy_fixture(tmp_path: Path) -> Path:
    folder = tmp_path / "seq_gateway"
    shutil.copytree(fixture_path("seq_gateway"), folder)
    return folder


def test_deploying_unchanged_files_is_a_no_op(session: Session, tmp_path: Path) -> None:
    folder = _copy_fixture(tmp_path)

    [(first, created)] = processes.deploy_folders(session, [folder], actor="tester")
    [(again, created_again)] = processes.deploy_folders(session, [folder], actor="tester")

    assert (created, created_again) == (True, False)
    assert (again.id, again.version) == (first.id, 1)
    count = session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.process_id == "seq_gateway")
    )
    assert len(list(count)) == 1


def test_changed_files_are_a_new_version_and_running_instances_keep_theirs(
    session: Session, tmp_path: Path, officer: User, settings: Settings, clock: Clock
) -> None:
    folder = _copy_fixture(tmp_path)
    [(v1, _)] = processes.deploy_folders(session, [folder], actor="tester")
    old = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "旧", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    bpmn = folder / "seq_gateway.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace('route = "auto"', 'route = "auto-v2"'),
        encoding="utf-8",
    )

    [(v2, created)] = processes.deploy_folders(session, [folder], actor="tester")
    new = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "新", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )

    assert created and (v1.version, v2.version) == (1, 2)
    assert (old.definition_id, new.definition_id) == (v1.id, v2.id)
    assert processes.get_process(session, "seq_gateway").id == v2.id
    routes = {}
    for instance in (old, new):
        [fill] = open_tasks(session, instance.id)
        instances.complete_task(
            session,
            task_id=fill.id,
            data={"amount": 1},
            user=officer,
            settings=settings,
            now=clock.now,
        )
        finished = reload(session, instance.id)
        assert finished.status == InstanceStatus.COMPLETED
        routes[finished.title] = instances.instance_data(session, finished)["route"]
    assert routes == {"顺序与排他网关：旧": "auto", "顺序与排他网关：新": "auto-v2"}
