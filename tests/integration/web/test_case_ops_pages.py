"""The task and instance pages offer 退回, 撤回, 挂起, 恢复, 终止 as CSRF-protected forms."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from tests.integration.web.web_demo import REGISTER_DATA
from tests.integration.web.web_demo import deploy_web_demo
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import post_form
from tests.integration.web.web_demo import start_case

Login = Callable[[str], FlaskClient]


@pytest.fixture(autouse=True)
def deployed(session_factory: sessionmaker[Session], demo_accounts: object) -> None:
    deploy_web_demo(session_factory)


def _at_head_review(login: Login, session_factory: sessionmaker[Session], case_no: str) -> int:
    client = login("scjg_officer1")
    instance_id = start_case(client, case_no)
    register = open_task(session_factory, instance_id, "register_case")
    assert post_form(client, f"/tasks/{register.id}", REGISTER_DATA).status_code == 302
    return instance_id


def _register_task(session_factory: sessionmaker[Session], instance_id: int) -> HumanTask:
    with session_factory() as session:
        task = session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.bpmn_id == "register_case"
            )
        )
        assert task is not None
        return task


def _status(session_factory: sessionmaker[Session], instance_id: int) -> str:
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return str(instance.status)


def test_the_head_returns_from_the_task_page_and_the_officer_sees_the_reason(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = _at_head_review(login, session_factory, "PAGE-OPS-1")
    review = open_task(session_factory, instance_id, "head_review")
    head = login("scjg_head")
    page = head.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "退回理由" in page and 'value="register_case"' in page

    no_csrf = head.post(f"/tasks/{review.id}/return", data={"to": "register_case", "reason": "x"})
    blank = post_form(head, f"/tasks/{review.id}/return", {"to": "register_case", "reason": ""})
    assert no_csrf.status_code == 400
    assert "请填写理由" in head.get(blank.headers["Location"]).get_data(as_text=True)
    assert open_task(session_factory, instance_id, "head_review").id == review.id

    done = post_form(
        head, f"/tasks/{review.id}/return", {"to": "register_case", "reason": "证据不足"}
    )
    assert done.status_code == 302
    register = open_task(session_factory, instance_id, "register_case")
    officer_page = login("scjg_officer1").get(f"/tasks/{register.id}").get_data(as_text=True)
    assert "退回理由：证据不足" in officer_page


def test_the_officer_withdraws_from_the_completed_task_page(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = _at_head_review(login, session_factory, "PAGE-OPS-2")
    register = _register_task(session_factory, instance_id)
    officer = login("scjg_officer1")
    assert "撤回说明" in officer.get(f"/tasks/{register.id}").get_data(as_text=True)

    response = post_form(officer, f"/tasks/{register.id}/withdraw", {"reason": ""})

    assert response.status_code == 302
    assert _register_task(session_factory, instance_id).status == TaskStatus.OPEN
    assert "撤回说明" not in officer.get(f"/tasks/{register.id}").get_data(as_text=True)


def test_the_head_suspends_resumes_and_terminates_from_the_instance_page(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    instance_id = _at_head_review(login, session_factory, "PAGE-OPS-3")
    review = open_task(session_factory, instance_id, "head_review")
    assert "挂起理由" not in login("scjg_officer1").get(f"/instances/{instance_id}").get_data(
        as_text=True
    )
    head = login("scjg_head")
    assert "挂起理由" in head.get(f"/instances/{instance_id}").get_data(as_text=True)

    post_form(head, f"/instances/{instance_id}/suspend", {"reason": "等待鉴定"})
    page = head.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert _status(session_factory, instance_id) == InstanceStatus.SUSPENDED
    assert "本案已挂起" in page and "恢复理由" in page
    assert f"/tasks/{review.id}" not in head.get("/tasks/").get_data(as_text=True)

    post_form(head, f"/instances/{instance_id}/resume", {"reason": "鉴定已到"})
    assert f"/tasks/{review.id}" in head.get("/tasks/").get_data(as_text=True)
    post_form(head, f"/instances/{instance_id}/terminate", {"reason": "已并案处理"})

    assert _status(session_factory, instance_id) == InstanceStatus.TERMINATED
    page = head.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "本案已终止" in page and "理由：已并案处理" in page
