"""Every main page loads in Chromium; with XIETONG_SCREENSHOTS=1 each is saved to docs/screenshots.

Run `XIETONG_SCREENSHOTS=1 pytest -m browser tests/browser/test_screenshots.py` to refresh
the pictures used in the documentation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus

pytestmark = pytest.mark.browser

LogIn = Callable[[str], Page]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def snap(page: Page, name: str) -> None:
    """Check the page rendered; save it when screenshots were asked for."""
    expect(page.locator("h1").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Traceback")
    if os.environ.get("XIETONG_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def visit(page: Page, path: str, name: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    snap(page, name)


def start_case(page: Page, case_no: str) -> str:
    page.goto("/instances/new")
    page.get_by_role("link", name=re.compile("网页测试流程")).click()
    page.fill("#f-case_no", case_no)
    page.check("input[name=agency_org][value=YJS-SCJG]")
    page.fill("#f-summary", "某商户涉嫌销售假冒注册商标的商品，货值约十二万元。")
    page.locator("form.start-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    return page.url


def move_deadline(
    factory: sessionmaker[Session], case_no: str, *, warn: timedelta, due: timedelta
) -> None:
    """Shift the open task of a case so that its light shows yellow or red."""
    now = datetime.now(UTC)
    with factory.begin() as session:
        instance_ids = select(ProcessInstance.id).where(ProcessInstance.title.endswith(case_no))
        session.execute(
            update(HumanTask)
            .where(HumanTask.instance_id.in_(instance_ids), HumanTask.status == TaskStatus.OPEN)
            .values(warn_at=now + warn, due_at=now + due)
        )


def test_every_main_page_renders(
    page: Page, log_in: LogIn, browser_db: sessionmaker[Session]
) -> None:
    visit(page, "/login", "login")

    log_in("scjg_officer1")
    visit(page, "/instances/new", "start")
    instance_url = start_case(page, "SHOT-1")
    start_case(page, "SHOT-2")
    start_case(page, "SHOT-3")
    move_deadline(browser_db, "SHOT-2", warn=timedelta(hours=-2), due=timedelta(hours=20))
    move_deadline(browser_db, "SHOT-3", warn=timedelta(days=-3), due=timedelta(hours=-5))

    visit(page, "/tasks/", "inbox")
    page.locator("tr.task-row", has_text="SHOT-1").get_by_role("link").first.click()
    snap(page, "task")
    page.fill("#f-found_on", "2026-02-03")
    page.fill("#f-amount", "120000")
    page.fill("[id='f-party.name']", "英吉沙县某某商贸有限公司")
    page.fill("[id='f-party.credit_code']", "91653123MA7XXXXX1A")
    page.fill("#f-measures", "先行登记保存\n责令停止销售")
    page.locator("form.task-form-body .form-actions button[type=submit]").click()
    page.wait_for_url(re.compile(r"/instances/\d+$"))

    visit(page, "/tasks/done", "done")
    visit(page, instance_url, "instance")

    log_in("sfj_coordinator")
    visit(page, "/supervision/", "supervision")

    log_in("admin")
    visit(page, "/admin/", "admin")
