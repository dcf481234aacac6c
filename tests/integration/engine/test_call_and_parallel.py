"""Call activity across two files of one folder bundle, and a parallel gateway."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.cases import inbox
from engine.cases import instances
from engine.execution import processes
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import Role
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import fixture_path
from tests.factories import make_org
from tests.factories import make_user
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload
from tests.integration.engine.support import task_statuses


def test_a_called_process_in_another_file_runs_in_the_callers_lane(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    [(definition, created)] = processes.deploy_folders(
        session, [fixture_path("call_parent")], actor="tester"
    )
    assert created
    assert sorted(definition.files) == ["call_child.bpmn", "call_parent.bpmn"]
    instance_id = instances.start_instance(
        session,
        process_id="call_parent",
        data={"agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id

    [child_task] = open_tasks(session, instance_id)
    assert (child_task.bpmn_id, child_task.lane, child_task.role, child_task.org_code) == (
        "child_task",
        "agency_officer",
        "officer",
        AGENCY,
    )
    instances.complete_task(
        session,
        task_id=child_task.id,
        data={"child_input": "abc"},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [after] = open_tasks(session, instance_id)
    assert (after.bpmn_id, after.assignee_id) == ("after_child", officer.id)

    instances.complete_task(
        session, task_id=after.id, data={}, user=officer, settings=settings, now=clock.now
    )
    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    assert instances.instance_data(session, instance)["child_result"] == "ABC"


def test_parallel_branches_both_open_and_join_before_the_script(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    make_org(session, code="YJS-GAJ", org_type=OrgType.POLICE, name="县公安局")
    police = make_user(session, username="police_a", org_code="YJS-GAJ", role=Role.OFFICER)
    deploy_fixture(session, "parallel_review")
    instance_id = instances.start_instance(
        session,
        process_id="parallel_review",
        data={"agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id

    tasks = {t.bpmn_id: t for t in open_tasks(session, instance_id)}
    assert {k: (t.role, t.org_code) for k, t in tasks.items()} == {
        "agency_opinion": ("officer", AGENCY),
        "police_opinion": ("officer", "YJS-GAJ"),
    }
    assert [t.bpmn_id for t in inbox.list_open_tasks(session, police)] == ["police_opinion"]

    instances.complete_task(
        session,
        task_id=tasks["police_opinion"].id,
        data={"police_view": "受理"},
        user=police,
        settings=settings,
        now=clock.now,
    )
    assert task_statuses(session, instance_id) == {
        "agency_opinion": "open",
        "police_opinion": "completed",
    }
    assert reload(session, instance_id).status == InstanceStatus.RUNNING

    instances.complete_task(
        session,
        task_id=tasks["agency_opinion"].id,
        data={"agency_view": "移送"},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    assert instances.instance_data(session, instance)["summary"] == ["受理", "移送"]
    assert set(instance.party_orgs) == {AGENCY, "YJS-GAJ"}
