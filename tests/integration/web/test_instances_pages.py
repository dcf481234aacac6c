"""发起 and the instance page: who may start what, the start form, diagram, timeline, 404s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import instances
from engine.execution import processes
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import User
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import REGISTER_DATA
from tests.integration.web.web_demo import deploy_web_demo
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import post_form
from tests.integration.web.web_demo import start_case

Login = Callable[..., FlaskClient]


@pytest.fixture(autouse=True)
def deployed(session_factory: sessionmaker[Session], demo_accounts: object) -> None:
    deploy_web_demo(session_factory)


def test_start_list_shows_only_processes_the_user_may_start(login: Login) -> None:
    officer = login("scjg_officer1").get("/instances/new").get_data(as_text=True)
    assert f"/instances/new/{PROCESS_ID}" in officer and "网页测试流程" in officer
    police = login("ga_officer").get("/instances/new").get_data(as_text=True)
    assert f"/instances/new/{PROCESS_ID}" not in police
    assert login("ga_officer").get(f"/instances/new/{PROCESS_ID}").status_code == 404
    posted = post_form(login("ga_officer"), f"/instances/new/{PROCESS_ID}", {"case_no": "X"})
    assert posted.status_code == 404


def test_start_form_renders_the_start_schema(login: Login) -> None:
    page = login("scjg_officer1").get(f"/instances/new/{PROCESS_ID}").get_data(as_text=True)
    assert 'name="case_no"' in page
    assert '<input type="radio" name="agency_org" value="YJS-SCJG" required>' in page
    assert '<textarea id="f-summary" name="summary"' in page


def test_invalid_start_shows_errors_and_starts_nothing(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    with session_factory() as session:
        before = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()))
    response = post_form(client, f"/instances/new/{PROCESS_ID}", {"summary": "只写了摘要"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-case_no"' in page and 'id="e-agency_org"' in page
    assert ">只写了摘要</textarea>" in page
    with session_factory() as session:
        after = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()))
    assert after == before


def test_instance_page_shows_coloured_diagram_timeline_and_deadlines(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "INST-PAGE-1")
    task = open_task(session_factory, instance_id, "register_case")
    post_form(client, f"/tasks/{task.id}", REGISTER_DATA)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "<svg" in page
    assert 'id="node-register_case" class="bpmn-node bpmn-usertask state-completed"' in page
    assert 'id="node-head_review" class="bpmn-node bpmn-usertask state-active"' in page
    assert "负责人审批" in page and "期限依据" in page and "《测试规定》第四条" in page
    timeline = page[page.index("办理记录") :]
    assert timeline.index("发起") < timeline.index("登记案件")
    assert "市场监管局 执法人员1" in timeline
    assert "案件编号" in page and "INST-PAGE-1" in page


def test_overdue_task_is_red_on_the_diagram_and_in_the_list(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "INST-LATE-1")
    task = open_task(session_factory, instance_id, "register_case")
    past = datetime.now(UTC) - timedelta(days=1)
    with session_factory.begin() as session:
        session.execute(update(HumanTask).where(HumanTask.id == task.id).values(due_at=past))
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="node-register_case" class="bpmn-node bpmn-usertask state-overdue"' in page
    assert "light-red" in page


def test_linked_instances_are_listed_when_visible(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    parent = start_case(client, "INST-PARENT-1")
    child = start_case(client, "INST-CHILD-1")
    hidden = start_case(client, "INST-HIDDEN-1", agency="YJS-YJ")
    with session_factory.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id.in_([child, hidden]))
            .values(parent_id=parent)
        )
        session.execute(
            update(ProcessInstance).where(ProcessInstance.id == hidden).values(started_org="YJS-YJ")
        )
    yj_party_only = login("yj_officer1").get(f"/instances/{hidden}")
    assert yj_party_only.status_code == 200
    page = login("yj_officer1").get(f"/instances/{parent}")
    assert page.status_code == 404
    officer_page = login("scjg_officer1").get(f"/instances/{parent}").get_data(as_text=True)
    assert "关联流程" in officer_page and "INST-CHILD-1" in officer_page
    child_page = client.get(f"/instances/{child}").get_data(as_text=True)
    assert "上级流程" in child_page and "INST-PARENT-1" in child_page


def test_forbidden_and_missing_instances_are_the_same_404(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = start_case(login("scjg_officer1"), "INST-SECRET-1")
    outsider = login("yj_officer1")
    forbidden = outsider.get(f"/instances/{instance_id}")
    missing = outsider.get("/instances/987654")
    assert forbidden.status_code == missing.status_code == 404
    assert "INST-SECRET-1" not in forbidden.get_data(as_text=True)
    assert forbidden.get_data(as_text=True) == missing.get_data(as_text=True)


def test_confidential_instance_reads_are_audited(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = start_case(login("scjg_officer1"), "INST-CONF-1")
    with session_factory.begin() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(confidential=True)
        )
    assert login("scjg_officer1").get(f"/instances/{instance_id}").status_code == 404
    assert login("scjg_head").get(f"/instances/{instance_id}").status_code == 200
    with session_factory() as session:
        reads = session.scalars(
            select(AuditEvent.actor).where(
                AuditEvent.instance_id == instance_id, AuditEvent.kind == "confidential_read"
            )
        ).all()
    assert reads == ["scjg_head"]


def test_open_flags_are_shown_on_the_instance_page(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = start_case(login("scjg_officer1"), "INST-FLAG-1")
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        session.add(
            Flag(
                instance_id=instance_id,
                kind=FlagKind.STALLED,
                reason="案件停滞：已 80 小时无进展",
                since=now - timedelta(hours=80),
                raised_at=now,
                dedupe_key=f"stalled:{instance_id}:page-test",
            )
        )
    page = login("scjg_officer1").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'class="notice notice-warning flag flag-stalled"' in page
    assert "案件停滞：已 80 小时无进展" in page


def _failed_instance(session_factory: sessionmaker[Session]) -> int:
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "engine" / "script_failure"
    with session_factory.begin() as session:
        processes.deploy_folders(session, [folder], actor="test")
        admin = session.scalar(select(User).where(User.username == "admin"))
        instance = instances.start_instance(
            session, process_id="script_failure", data={"total": 10, "parts": 0}, user=admin
        )
        return instance.id


def test_admin_sees_the_incident_and_retries_with_fixed_data(
    login: Login, session_factory: sessionmaker[Session], csrf_token: Callable[..., str]
) -> None:
    instance_id = _failed_instance(session_factory)
    admin = login("admin")
    page = admin.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "运行异常" in page and "compute_share" in page and "ZeroDivisionError" in page
    bad = admin.post(
        f"/instances/{instance_id}/retry",
        data={"data_patch": "[1]", "csrf_token": csrf_token(admin)},
        follow_redirects=True,
    )
    assert "必须是 JSON 对象" in bad.get_data(as_text=True)
    admin.post(
        f"/instances/{instance_id}/retry",
        data={"data_patch": '{"parts": 5}', "csrf_token": csrf_token(admin)},
    )
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.RUNNING
        assert instance.error is None


def test_only_admins_may_retry(
    login: Login, session_factory: sessionmaker[Session], csrf_token: Callable[..., str]
) -> None:
    instance_id = _failed_instance(session_factory)
    officer = login("sfj_coordinator")
    response = officer.post(
        f"/instances/{instance_id}/retry",
        data={"data_patch": "{}", "csrf_token": csrf_token(officer)},
    )
    assert response.status_code == 403
