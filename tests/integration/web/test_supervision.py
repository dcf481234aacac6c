"""监督: coordinators see every visible instance, filter them, and count them per organization."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.demo.accounts import DEMO_PASSWORD
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.monitoring import job_runs
from engine.monitoring.job_runs import JobRun
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import start_case

Login = Callable[..., FlaskClient]


@pytest.fixture(scope="module")
def cases(
    session_factory: sessionmaker[Session], demo_accounts: object, app: Flask
) -> dict[str, int]:
    """Four cases: two of 市场监管局 (one overdue), two of 应急管理局 (township, stalled)."""
    deploy_web_demo(session_factory)
    client = app.test_client()
    ids: dict[str, int] = {}

    def log_in(username: str) -> None:
        client.get("/login")
        with client.session_transaction() as flask_session:
            token = flask_session["csrf_token"]
        client.post(
            "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
        )

    log_in("scjg_officer1")
    ids["late"] = start_case(client, "SUP-LATE")
    ids["fine"] = start_case(client, "SUP-FINE")
    log_in("yj_officer1")
    ids["township"] = start_case(client, "SUP-TOWNSHIP", agency="YJS-YJ")
    ids["stalled"] = start_case(client, "SUP-STALLED", agency="YJS-YJ")
    now = datetime.now(UTC)
    late_task = open_task(session_factory, ids["late"], "register_case")
    with session_factory.begin() as session:
        session.execute(
            update(HumanTask)
            .where(HumanTask.id == late_task.id)
            .values(due_at=now - timedelta(hours=2))
        )
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == ids["township"])
            .values(township_code="TWP-WUQIA")
        )
        session.add(
            Flag(
                instance_id=ids["stalled"],
                kind=FlagKind.STALLED,
                reason="案件停滞",
                since=now - timedelta(days=10),
                raised_at=now,
                dedupe_key=f"stalled:{ids['stalled']}:test",
            )
        )
        session.add(
            Flag(
                instance_id=ids["late"],
                kind=FlagKind.YELLOW,
                reason="「负责人审批」即将届满",
                since=now - timedelta(days=1),
                raised_at=now,
                dedupe_key=f"yellow:{ids['late']}:test",
            )
        )
    return ids


def _listed(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-instance-id="(\d+)"', page)}


def test_coordinator_sees_instances_of_every_org_with_counts(
    login: Login, cases: dict[str, int]
) -> None:
    page = login("sfj_coordinator").get("/supervision/").get_data(as_text=True)
    assert set(cases.values()) <= _listed(page)
    counts = page[page.index("各单位统计") : page.index("流程实例</h2>")]
    assert "英吉沙县市场监督管理局" in counts and "英吉沙县应急管理局" in counts
    scjg_row = counts[counts.index('data-org="YJS-SCJG"') :].split("</tr>")[0]
    cells = re.findall(r'<td class="num">(.*?)</td>', scjg_row, re.S)
    assert cells[0] == "2" and cells[1] == "2" and ">1</span>" in cells[2]


@pytest.mark.parametrize(
    ("query", "expected", "excluded"),
    [
        (f"process={PROCESS_ID}", {"late", "fine", "township", "stalled"}, set()),
        ("process=no_such_process", set(), {"late", "fine", "township", "stalled"}),
        ("org=YJS-SCJG", {"late", "fine"}, {"township", "stalled"}),
        ("township=TWP-WUQIA", {"township"}, {"late", "fine", "stalled"}),
        ("overdue=1", {"late"}, {"fine", "township", "stalled"}),
        ("stalled=1", {"stalled"}, {"late", "fine", "township"}),
        (f"status={InstanceStatus.COMPLETED}", set(), {"late", "fine", "township", "stalled"}),
        (f"status={InstanceStatus.RUNNING}&org=YJS-YJ", {"township", "stalled"}, {"late", "fine"}),
    ],
)
def test_filters_narrow_the_list(
    login: Login, cases: dict[str, int], query: str, expected: set[str], excluded: set[str]
) -> None:
    listed = _listed(login("sfj_coordinator").get(f"/supervision/?{query}").get_data(as_text=True))
    assert {cases[k] for k in expected} <= listed
    assert not {cases[k] for k in excluded} & listed


def test_overdue_and_stalled_instances_are_marked(login: Login, cases: dict[str, int]) -> None:
    page = login("sfj_coordinator").get("/supervision/").get_data(as_text=True)
    assert f'data-instance-id="{cases["late"]}" class="overdue"' in page
    assert f'data-instance-id="{cases["fine"]}" class="overdue"' not in page
    stalled_row = page[page.index(f'data-instance-id="{cases["stalled"]}"') :].split("</tr>")[0]
    assert "停滞" in stalled_row
    assert "案件停滞" in stalled_row


def test_each_open_flag_is_listed_with_its_reason(login: Login, cases: dict[str, int]) -> None:
    page = login("sfj_coordinator").get("/supervision/").get_data(as_text=True)
    late_row = page[page.index(f'data-instance-id="{cases["late"]}"') :].split("</tr>")[0]
    assert "flag-yellow" in late_row and "临期" in late_row
    assert "「负责人审批」即将届满" in late_row
    fine_row = page[page.index(f'data-instance-id="{cases["fine"]}"') :].split("</tr>")[0]
    assert "flag-" not in fine_row


def test_other_users_only_see_what_they_may_see(login: Login, cases: dict[str, int]) -> None:
    listed = _listed(login("yj_officer1").get("/supervision/").get_data(as_text=True))
    assert {cases["township"], cases["stalled"]} <= listed
    assert not {cases["late"], cases["fine"]} & listed


def test_unknown_filter_values_are_ignored(login: Login, cases: dict[str, int]) -> None:
    response = login("sfj_coordinator").get("/supervision/?status=bogus&overdue=yes")
    assert response.status_code == 200
    assert set(cases.values()) <= _listed(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("last_success_ago", "warned", "shown_time"),
    [
        (None, True, "从未成功运行"),
        (timedelta(minutes=6), True, "上次成功运行于"),
        (timedelta(seconds=30), False, None),
    ],
)
def test_a_timer_job_idle_for_five_minutes_is_warned_about(
    login: Login,
    session_factory: sessionmaker[Session],
    last_success_ago: timedelta | None,
    warned: bool,
    shown_time: str | None,
) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        session.execute(delete(JobRun))
        if last_success_ago is not None:
            job_runs.record_start(
                session, job_id=job_runs.TIMER_JOB_ID, host="sched", pid=7, now=now
            )
            job_runs.record_finish(session, job_id=job_runs.TIMER_JOB_ID, now=now, error=None)
            session.flush()
            session.get_one(JobRun, job_runs.TIMER_JOB_ID).last_success_at = now - last_success_ago
    try:
        page = login("sfj_coordinator").get("/supervision/").get_data(as_text=True)
    finally:
        with session_factory.begin() as session:
            session.execute(delete(JobRun))

    assert ('id="timer-job-late"' in page) is warned
    if shown_time is not None:
        warning = page[page.index('id="timer-job-late"') :].split("</p>")[0]
        assert "定时任务已超过 5 分钟没有成功运行" in warning and shown_time in warning
