"""综合查一次 in Chromium, on the real demo data and the deployed workflows/ models.

The market-regulation bureau leads, names two agencies with the organization pickers and
draws objects at random; the agencies confirm their items; the lead checks the frozen seed
against the public verification page, plans the visit on a proposed date; the heads approve.
With XIETONG_SCREENSHOTS=1 the key pages are saved to docs/screenshots/joint_inspection_*.png.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect
from waitress.server import create_server

from engine import model_registry
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo.seed import prepare
from engine.settings import Settings
from web import create_app
from web.form_schema import LOCAL_TZ

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
LogIn = Callable[[str], Page]
INSTANCE_URL = re.compile(r"/instances/\d+$")
TITLE = "浏览器联合检查 E2E-JI"
LEAD_NAME = "英吉沙县市场监督管理局"
PARTICIPANTS = (("YJS-YJ", "work_safety", "yj"), ("YJS-WJW", "health", "wjw"))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the demo data (engine.demo.seed.prepare) with the models of workflows/."""
    path = tmp_path_factory.mktemp("joint") / "xietong.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        workflows_dir=ROOT / "workflows",
        secret_key="browser-test-secret",
        run_scheduler_in_process=False,
    )
    engine = make_engine(settings)
    model_registry.metadata().create_all(engine)
    prepare(settings)
    app = create_app(settings, session_factory=make_session_factory(engine))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-joint", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=10)
    engine.dispose()


def shot(page: Page, name: str) -> None:
    if os.environ.get("XIETONG_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"joint_inspection_{name}.png"), full_page=True)


def inbox_count(page: Page) -> int:
    page.goto("/tasks/")
    return int(page.locator("#inbox-count").inner_text())


def open_task(page: Page, task_name: str) -> None:
    page.goto("/tasks/")
    page.locator("tr.task-row", has_text=TITLE).get_by_role("link", name=task_name).click()
    expect(page.locator("h1")).to_contain_text(task_name)


def submit_task(page: Page) -> None:
    page.locator("form.task-form-body .form-actions button[type=submit]").click()
    page.wait_for_url(INSTANCE_URL)


def fill_start_form(page: Page) -> None:
    window_start = datetime.now(LOCAL_TZ).date() + timedelta(days=14)
    page.goto("/instances/new")
    page.get_by_role("link", name=re.compile("综合查一次")).click()
    expect(page.locator("#f-lead_org")).to_have_value("YJS-SCJG")
    expect(page.locator("#f-lead_org option:checked")).to_have_text(LEAD_NAME)
    page.fill("#f-inspection_title", TITLE)
    page.select_option("#f-lead_field", "market_regulation")
    for index, (org, field, _prefix) in enumerate(PARTICIPANTS):
        page.select_option(f"[name='participants.{index}.org']", org)
        page.select_option(f"[name='participants.{index}.field']", field)
    page.check("input[name=selection_mode][value=random]")
    page.fill("#f-object_count", "2")
    page.fill("#f-inspection_year", str(window_start.year))
    page.fill("#f-window_start", window_start.isoformat())
    page.fill("#f-window_end", (window_start + timedelta(days=20)).isoformat())
    shot(page, "1_start_form")
    page.get_by_role("button", name="发起").click()
    page.wait_for_url(INSTANCE_URL)


def confirm_items(page: Page, prefix: str, org: str, field: str) -> None:
    open_task(page, "确认本部门检查事项")
    page.fill("[name='agency_items.0.item_code']", f"{org}-001")
    page.fill("[name='agency_items.0.item_name']", "本部门随机抽查事项")
    page.fill("[name='agency_items.0.legal_basis']", "《优化营商环境条例》第五十四条")
    page.select_option("[name='agency_items.0.method']", "site")
    page.select_option("#f-enforcement_field", field)
    page.fill("#f-contact_person", f"{prefix} 联络员")
    if prefix == "yj":
        shot(page, "2_confirm_items")
    submit_task(page)


def frozen_draw(page: Page, instance_path: str) -> tuple[str, str, str]:
    """The case's object draw, frozen but not drawn: (draw path, seed, candidate hash)."""
    page.goto("/draws")
    page.locator("table tbody tr").first.get_by_role("link", name="详情").click()
    summary = page.locator(".planning-summary")
    expect(summary.get_by_role("link", name=re.compile("案件"))).to_have_attribute(
        "href", instance_path
    )
    expect(summary).to_contain_text("未抽取")
    expect(summary).to_contain_text(LEAD_NAME)
    seed, candidate_hash = summary.locator("dd.hash").all_inner_texts()
    return page.url, seed.strip(), candidate_hash.strip()


def drawn_names(page: Page) -> list[str]:
    """Names of the drawn objects in the result table of a draw page."""
    table = page.locator("h2", has_text="抽取结果").locator("xpath=following-sibling::table[1]")
    return table.locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_lead_names_agencies_draws_plans_and_heads_approve(log_in: LogIn) -> None:
    page = log_in("scjg_officer1")
    lead_before = inbox_count(page)
    fill_start_form(page)
    expect(page.locator("#node-start_joint_inspection")).to_have_class(
        re.compile("state-completed")
    )
    expect(page.locator("#node-build_agency_sets")).to_have_class(re.compile("state-completed"))
    instance_url = page.url
    instance_path = "/" + instance_url.split("/", 3)[3]

    for org, field, prefix in PARTICIPANTS:
        page = log_in(f"{prefix}_officer1")
        before = inbox_count(page)
        confirm_items(page, prefix, org, field)
        assert inbox_count(page) == before - 1

    page = log_in("scjg_officer1")
    assert inbox_count(page) == lead_before + 1
    draw_url, seed, candidate_hash = frozen_draw(page, instance_path)
    assert re.fullmatch(r"[0-9a-f]{64}", seed)
    assert re.fullmatch(r"[0-9a-f]{64}", candidate_hash)
    shot(page, "3_frozen_seed")
    open_task(page, "公示种子并确认抽取")
    shot(page, "3_confirm_seed")
    page.check("#f-seed_published")
    page.fill("#f-publication_channel", "县政府门户网站")
    submit_task(page)
    expect(page.locator("#node-confirm_draw_seed")).to_have_class(re.compile("state-completed"))
    expect(page.locator("#node-draw_objects")).to_have_class(re.compile("state-completed"))
    shot(page, "4_instance_after_draw")
    page.goto(draw_url)
    objects = drawn_names(page)
    assert len(objects) == 2
    assert page.locator(".planning-summary dd.hash").all_inner_texts() == [seed, candidate_hash]
    shot(page, "4_drawn_objects")

    open_task(page, "制定检查方案")
    dates = page.locator("#f-visit_date option[value^='20']").all_inner_texts()
    assert dates and dates == sorted(dates)
    page.select_option("#f-visit_date", dates[-1])
    page.select_option("[name='checklist.0.method']", "site")
    page.fill("[name='checklist.0.item_code']", "SCJG-001")
    page.fill("[name='checklist.0.item_name']", "食品经营许可检查")
    page.fill("[name='checklist.0.legal_basis']", "《食品安全法》")
    page.check("input[name=merge_decision][value=none]")
    page.check("input[name=inspection_mode][value=site]")
    page.check("input[name=notice_mode][value=notice]")
    shot(page, "5_plan")
    submit_task(page)
    expect(page.locator("#node-plan_inspection")).to_have_class(re.compile("state-completed"))

    page.context.clear_cookies()
    page.goto(draw_url + "/verify")
    expect(page.locator(".verdict-match")).to_contain_text("一致")
    hashes = page.locator(".planning-summary dd.hash").all_inner_texts()
    assert [h.strip() for h in hashes] == [seed, candidate_hash]
    assert drawn_names(page) == objects
    shot(page, "6_verify")

    for head in ("scjg_head", "yj_head", "wjw_head"):
        page = log_in(head)
        before = inbox_count(page)
        open_task(page, "负责人审批行政检查审批表")
        page.check("input[name=approval_decision][value=approve]")
        page.fill("#f-approval_opinion", "同意")
        if head == "yj_head":
            shot(page, "7_head_approval")
        submit_task(page)
        assert inbox_count(page) == before - 1

    page = log_in("scjg_officer1")
    page.goto(instance_url)
    expect(page.locator("#node-agency_head_approval")).to_have_class(re.compile("state-completed"))
    expect(page.locator("#node-draw_inspector_teams")).to_have_class(re.compile("state-completed"))
    expect(page.locator("#node-serve_inspection_notice")).to_have_class(re.compile("state-active"))
    shot(page, "8_instance_after_approval")
