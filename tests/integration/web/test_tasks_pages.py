"""待办, the task page and 已办: routing, lights, the form round trip, claim, acting for others."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import TaskStatus
from engine.people.accounts import find_user
from tests.integration.web.web_demo import REGISTER_DATA
from tests.integration.web.web_demo import deploy_web_demo
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import post_form
from tests.integration.web.web_demo import start_case

Login = Callable[..., FlaskClient]


@pytest.fixture(autouse=True)
def deployed(session_factory: sessionmaker[Session], demo_accounts: object) -> None:
    deploy_web_demo(session_factory)


def _set_due(session_factory: sessionmaker[Session], task_id: int, due: datetime) -> None:
    with session_factory.begin() as session:
        session.execute(
            update(HumanTask).where(HumanTask.id == task_id).values(due_at=due, warn_at=due)
        )


def _user_id(session_factory: sessionmaker[Session], username: str) -> int:
    with session_factory() as session:
        user = find_user(session, username)
        assert user is not None
        return user.id


def test_new_task_shows_in_the_inbox_with_due_time_basis_and_green_light(login: Login) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "TASK-INBOX-1")
    page = client.get("/tasks/").get_data(as_text=True)
    row = page[page.index("TASK-INBOX-1") - 600 :]
    assert "登记案件" in page
    assert "light-green" in row
    assert "《测试规定》第三条：三个工作日内登记" in page
    assert "<time datetime=" in row
    assert 'id="inbox-count"' in page
    assert instance_id > 0


def test_inbox_belongs_to_the_routed_org_and_role_only(login: Login) -> None:
    client = login("scjg_officer1")
    start_case(client, "TASK-ROUTE-1")
    other = login("yj_officer1").get("/tasks/").get_data(as_text=True)
    head = login("scjg_head").get("/tasks/").get_data(as_text=True)
    assert "TASK-ROUTE-1" not in other
    own_inbox = head[: head.index("本单位执法人员待办")]
    assert "TASK-ROUTE-1" not in own_inbox


def test_inbox_filters_by_process_due_and_light(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    late = open_task(session_factory, start_case(client, "TASK-LATE-1"), "register_case")
    start_case(client, "TASK-ONTIME-1")
    _set_due(session_factory, late.id, datetime.now(UTC) - timedelta(hours=1))

    overdue = client.get("/tasks/?due=overdue").get_data(as_text=True)
    red = client.get("/tasks/?status=red").get_data(as_text=True)
    green = client.get("/tasks/?status=green").get_data(as_text=True)
    other_process = client.get("/tasks/?process=no_such_process").get_data(as_text=True)

    assert "TASK-LATE-1" in overdue and "TASK-ONTIME-1" not in overdue
    assert "TASK-LATE-1" in red and "light-red" in red
    assert "TASK-ONTIME-1" in green and "TASK-LATE-1" not in green
    assert "暂无待办事项" in other_process


def test_task_page_explains_instructions_legal_basis_and_deadline(
    login: Login, session_factory
) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-PAGE-1"), "register_case")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "核对案件材料，填写当事人信息。" in page
    assert "《行政执法机关移送涉嫌犯罪案件的规定》第五条" in page
    assert "3个工作日" in page
    assert "起算时间" in page
    assert 'name="party.name"' in page
    assert "提交时自动记录" in page


def test_deadline_warnings_are_shown(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "TASK-WARN-1")
    task = open_task(session_factory, instance_id, "register_case")
    assert post_form(client, f"/tasks/{task.id}", REGISTER_DATA).status_code == 302
    review = open_task(session_factory, instance_id, "head_review")
    head = login("scjg_head")
    page = head.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert page.count('class="deadline-warning"') == 1
    assert "review_requested_at" in page
    inbox = head.get("/tasks/").get_data(as_text=True)
    assert 'class="deadline-warning"' in inbox and "review_requested_at" in inbox


def test_invalid_submission_shows_inline_errors_and_keeps_values(
    login: Login, session_factory
) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-BAD-1"), "register_case")
    response = post_form(
        client,
        f"/tasks/{task.id}",
        {"found_on": "2026-02-03", "amount": "很多", "party.name": "", "measures": "查封"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-amount"' in page and "请输入数字" in page
    assert 'value="很多"' in page
    assert 'value="2026-02-03"' in page
    assert ">查封</textarea>" in page
    assert open_task(session_factory, task.instance_id, "register_case").id == task.id


def test_engine_field_errors_are_placed_on_their_inputs(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-BAD-2"), "register_case")
    response = post_form(client, f"/tasks/{task.id}", {"amount": "-5", "party.name": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-found_on"' in page
    assert 'id="e-amount"' in page and "不能小于 0" in page
    assert 'id="e-party.name"' in page


def test_valid_submission_completes_the_task_and_lists_it_as_done(
    login: Login, session_factory
) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "TASK-DONE-1")
    task = open_task(session_factory, instance_id, "register_case")
    response = post_form(client, f"/tasks/{task.id}", REGISTER_DATA)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/instances/{instance_id}")
    done = client.get("/tasks/done").get_data(as_text=True)
    assert "TASK-DONE-1" in done and "登记案件" in done
    inbox = client.get("/tasks/").get_data(as_text=True)
    assert "TASK-DONE-1" not in inbox
    with session_factory() as session:
        closed = session.get(HumanTask, task.id)
        assert closed is not None and closed.status == TaskStatus.COMPLETED
    record = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "此事项已办结" in record and "办理内容" in record
    assert "<dt>名称</dt>" not in record
    assert "名称：某某商贸有限公司" in record and "查封、扣押" in record
    assert 'name="found_on"' not in record


def test_submitting_a_closed_task_reports_a_conflict(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-TWICE-1"), "register_case")
    post_form(client, f"/tasks/{task.id}", REGISTER_DATA)
    again = post_form(client, f"/tasks/{task.id}", REGISTER_DATA)
    assert again.status_code == 302
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "已被他人处理" in page


def test_claim_release_and_reassign_within_the_org(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-CLAIM-1"), "register_case")
    officer2 = _user_id(session_factory, "scjg_officer2")

    post_form(client, f"/tasks/{task.id}/claim", {})
    assert open_task(session_factory, task.instance_id, "register_case").assignee_id is not None
    post_form(client, f"/tasks/{task.id}/release", {})
    assert open_task(session_factory, task.instance_id, "register_case").assignee_id is None
    post_form(client, f"/tasks/{task.id}/reassign", {"to_user_id": str(officer2)})
    assert open_task(session_factory, task.instance_id, "register_case").assignee_id == officer2

    page = client.get("/tasks/").get_data(as_text=True)
    assert "TASK-CLAIM-1" not in page
    officer2_inbox = login("scjg_officer2").get("/tasks/").get_data(as_text=True)
    assert "TASK-CLAIM-1" in officer2_inbox


def test_reassign_outside_the_org_is_refused(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-CLAIM-2"), "register_case")
    outsider = _user_id(session_factory, "yj_officer1")
    response = post_form(client, f"/tasks/{task.id}/reassign", {"to_user_id": str(outsider)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "无权" in page
    assert open_task(session_factory, task.instance_id, "register_case").assignee_id is None


def test_head_acting_for_an_officer_must_give_a_reason(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-BEHALF-1"), "register_case")
    head = login("scjg_head")
    inbox = head.get("/tasks/").get_data(as_text=True)
    team = inbox[inbox.index("本单位执法人员待办") :]
    assert f'data-task-id="{task.id}"' in team and "TASK-BEHALF-1" in team
    page = head.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "代为办理理由" in page

    refused = post_form(head, f"/tasks/{task.id}", REGISTER_DATA)
    assert refused.status_code == 422
    assert "代为办理须填写理由" in refused.get_data(as_text=True)
    assert 'value="某某商贸有限公司"' in refused.get_data(as_text=True)

    accepted = post_form(
        head, f"/tasks/{task.id}", {**REGISTER_DATA, "on_behalf_reason": "承办人出差"}
    )
    assert accepted.status_code == 302
    with session_factory() as session:
        reasons = session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.instance_id == task.instance_id, AuditEvent.kind == "acted_on_behalf"
            )
        ).all()
    assert [r["reason"] for r in reasons] == ["承办人出差"]
    timeline = head.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "承办人出差" in timeline


def test_task_of_an_instance_the_user_may_not_see_is_404(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-SECRET-1"), "register_case")
    outsider = login("yj_officer1")
    page = outsider.get(f"/tasks/{task.id}")
    posted = post_form(outsider, f"/tasks/{task.id}", REGISTER_DATA)
    assert page.status_code == 404 and "TASK-SECRET-1" not in page.get_data(as_text=True)
    assert posted.status_code == 404
    assert post_form(outsider, f"/tasks/{task.id}/claim", {}).status_code == 404
    assert post_form(outsider, "/tasks/999999/claim", {}).status_code == 404
    assert outsider.get("/tasks/999999").status_code == 404


def test_a_user_who_sees_but_may_not_act_gets_no_form(login: Login, session_factory) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-READ-1"), "register_case")
    page = login("sfj_coordinator").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "您可以查看但不能办理" in page
    assert 'name="party.name"' not in page


def test_more_rows_button_rerenders_the_form_without_submitting(
    login: Login, session_factory
) -> None:
    client = login("scjg_officer1")
    task = open_task(session_factory, start_case(client, "TASK-ROWS-1"), "register_case")
    response = post_form(
        client,
        f"/tasks/{task.id}",
        {**REGISTER_DATA, "seized_items.0.item": "白酒", "_more_rows": "seized_items"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="seized_items.0.item" value="白酒"' in page
    assert 'name="seized_items.6.item"' in page and 'name="seized_items.7.item"' not in page
    assert open_task(session_factory, task.instance_id, "register_case").id == task.id


def test_table_rows_reach_the_engine_and_cell_errors_come_back(
    login: Login, session_factory
) -> None:
    client = login("scjg_officer1")
    instance_id = start_case(client, "TASK-ROWS-2")
    task = open_task(session_factory, instance_id, "register_case")
    rows = {"seized_items.0.item": "白酒", "seized_items.0.quantity": "0"}
    refused = post_form(client, f"/tasks/{task.id}", {**REGISTER_DATA, **rows})
    assert refused.status_code == 422
    assert 'id="e-seized_items.0.quantity"' in refused.get_data(as_text=True)

    rows["seized_items.0.quantity"] = "12"
    rows["seized_items.0.sealed"] = "true"
    assert post_form(client, f"/tasks/{task.id}", {**REGISTER_DATA, **rows}).status_code == 302
    record = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "物品名称：白酒；数量：12；已封存：是" in record
