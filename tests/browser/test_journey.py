"""End to end in Chromium: an agency starts a case, its head approves, the police receive it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.models import HumanTask
from engine.models import TaskStatus

pytestmark = pytest.mark.browser

LogIn = Callable[[str], Page]
INSTANCE_URL = re.compile(r"/instances/\d+$")


def inbox_count(page: Page) -> int:
    page.goto("/tasks/")
    return int(page.locator("#inbox-count").inner_text())


def task_row(page: Page, case_no: str, task_name: str) -> object:
    return page.locator("tr.task-row", has_text=case_no).filter(has_text=task_name)


def open_task(page: Page, case_no: str, task_name: str) -> None:
    page.goto("/tasks/")
    page.locator("tr.task-row", has_text=case_no).get_by_role("link", name=task_name).click()
    expect(page.locator("h1")).to_contain_text(task_name)


def submit_task(page: Page) -> None:
    page.locator("form.task-form-body .form-actions button[type=submit]").click()


def start_case(page: Page, case_no: str) -> str:
    page.goto("/instances/new")
    page.get_by_role("link", name=re.compile("网页测试流程")).click()
    page.fill("#f-case_no", case_no)
    page.check("input[name=agency_org][value=YJS-SCJG]")
    page.fill("#f-summary", "某商户销售假冒伪劣商品，涉案金额较大。")
    page.locator("form.start-form button[type=submit]").click()
    page.wait_for_url(INSTANCE_URL)
    return page.url


def test_case_travels_from_agency_to_police_and_ends(log_in: LogIn) -> None:
    page = log_in("scjg_officer1")
    before = inbox_count(page)
    instance_url = start_case(page, "E2E-1")
    expect(page.locator("svg.bpmn-diagram")).to_be_visible()
    expect(page.locator("#node-start")).to_have_class(re.compile("state-completed"))
    expect(page.locator("#node-register_case")).to_have_class(re.compile("state-active"))

    assert inbox_count(page) == before + 1
    expect(task_row(page, "E2E-1", "登记案件").locator(".light-green")).to_be_visible()

    open_task(page, "E2E-1", "登记案件")
    submit_task(page)
    expect(page.locator("#e-found_on")).to_be_visible()
    page.fill("#f-amount", "1200")
    page.fill("#f-found_on", "2026-02-03")
    page.fill("[id='f-party.name']", "某某商贸有限公司")
    page.fill("#f-measures", "查封\n扣押")
    page.fill("[name='seized_items.0.item']", "假冒白酒")
    page.get_by_role("button", name="增加三行").click()
    expect(page.locator("[name='seized_items.5.item']")).to_be_visible()
    expect(page.locator("[name='seized_items.0.item']")).to_have_value("假冒白酒")
    page.fill("[name='seized_items.4.quantity']", "12")
    page.fill("[name='seized_items.4.item']", "假冒香烟")
    page.press("[id='f-party.name']", "Enter")
    page.wait_for_url(INSTANCE_URL)
    expect(page.locator(".data-list")).to_contain_text("假冒香烟")
    expect(page.locator("#node-register_case")).to_have_class(re.compile("state-completed"))
    expect(page.locator("#node-head_review")).to_have_class(re.compile("state-active"))
    assert inbox_count(page) == before

    page = log_in("scjg_head")
    open_task(page, "E2E-1", "负责人审批")
    expect(page.locator(".deadline-warning").first).to_contain_text("review_requested_at")
    page.check("input[name=decision][value=approve]")
    submit_task(page)
    page.wait_for_url(INSTANCE_URL)
    expect(page.locator("#node-police_receipt")).to_have_class(re.compile("state-active"))

    page = log_in("ga_officer")
    police_before = inbox_count(page)
    open_task(page, "E2E-1", "公安机关接收")
    page.fill("#f-receipt_no", "GA-2026-001")
    submit_task(page)
    page.wait_for_url(INSTANCE_URL)
    expect(page.locator("h1 .status")).to_have_text("已办结")
    expect(page.locator("#node-police_receipt")).to_have_class(re.compile("state-completed"))
    expect(page.locator(".timeline-list .event")).to_have_count(4)
    assert inbox_count(page) == police_before - 1

    page = log_in("yj_officer1")
    response = page.goto(instance_url)
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("E2E-1")


def test_overdue_task_turns_red_and_the_overdue_filter_finds_it(
    log_in: LogIn, browser_db: sessionmaker[Session]
) -> None:
    page = log_in("scjg_officer1")
    start_case(page, "E2E-ONTIME")
    start_case(page, "E2E-LATE")
    with browser_db.begin() as session:
        task_id = session.scalar(
            select(HumanTask.id)
            .where(HumanTask.status == TaskStatus.OPEN, HumanTask.name == "登记案件")
            .order_by(HumanTask.id.desc())
            .limit(1)
        )
        session.execute(
            update(HumanTask)
            .where(HumanTask.id == task_id)
            .values(due_at=datetime.now(UTC) - timedelta(hours=3))
        )
    page.goto("/tasks/")
    expect(task_row(page, "E2E-LATE", "登记案件").locator(".light-red")).to_be_visible()
    page.select_option("select[name=due]", "overdue")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("tr.task-row")
    expect(rows.filter(has_text="E2E-LATE")).to_have_count(1)
    expect(rows.filter(has_text="E2E-ONTIME")).to_have_count(0)
    assert rows.count() == page.locator("tr.task-row .light-red").count()
