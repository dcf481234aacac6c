"""问题线索办理状态: the officer who found a clue follows it on a status page, nothing more.

After starting a referral the reporter lands on its status page (not on 未找到), finds it again
in 已办, and the ordinary case that started one shows only 问题线索已移送 with number and time,
linked to the status page for the reporter and to the referral for those who may see it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import instances
from engine.execution import processes
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import User
from tests.integration.web.web_demo import post_form

Login = Callable[..., FlaskClient]
WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"
START = {
    "agency_org": "YJS-SCJG",
    "clue_source": "inspection",
    "person_name": "张某某",
    "summary": "检查中发现所长收受企业财物",
    "commission_org": "YJS-JW",
}


@pytest.fixture(autouse=True)
def deployed(session_factory: sessionmaker[Session], demo_accounts: object) -> None:
    with session_factory.begin() as session:
        folders = [WORKFLOWS / "discipline_referral", WORKFLOWS / "criminal_transfer"]
        processes.deploy_folders(session, folders, actor="tester")


def _start_referral(client: FlaskClient) -> int:
    response = post_form(client, "/instances/new/discipline_referral", START)
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.search(r"/referrals/(\d+)$", response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return int(found.group(1))


def test_the_reporter_lands_on_the_status_page_and_sees_no_contents(login: Login) -> None:
    officer = login("scjg_officer1")
    referral_id = _start_referral(officer)
    page = officer.get(f"/referrals/{referral_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "问题线索办理状态" in text and "已登记，待移送" in text
    assert "尚未移送" in text and "尚未签收" in text and "尚未办结" in text
    assert "张某某" not in text and "收受企业财物" not in text
    assert officer.get(f"/instances/{referral_id}").status_code == 404


def test_only_the_reporter_opens_the_status_page_and_each_read_is_audited(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    referral_id = _start_referral(login("scjg_officer1"))
    for other in ("scjg_officer2", "scjg_liaison", "jw_officer", "admin"):
        assert login(other).get(f"/referrals/{referral_id}").status_code == 404
    assert login("scjg_liaison").get(f"/instances/{referral_id}").status_code == 200
    login("scjg_officer1").get(f"/referrals/{referral_id}")
    with session_factory() as session:
        reads = session.scalars(
            select(AuditEvent.actor).where(
                AuditEvent.instance_id == referral_id,
                AuditEvent.kind == "reporter_status_read",
            )
        ).all()
    assert reads == ["scjg_officer1"]


def test_the_done_list_links_the_reporters_referrals(login: Login) -> None:
    officer = login("scjg_officer1")
    referral_id = _start_referral(officer)
    done = officer.get("/tasks/done").get_data(as_text=True)
    assert "我发现的问题线索" in done
    assert f'href="/referrals/{referral_id}"' in done
    assert "我发现的问题线索" not in login("scjg_officer2").get("/tasks/done").get_data(
        as_text=True
    )


def _crime_suspicion() -> dict[str, Any]:
    return {
        "case_no": "英市监罚〔2026〕88号",
        "party_name": "英吉沙县某商贸有限公司",
        "party_credit_code": "91653123MA7XXXXX1A",
        "suspected_offence": "销售假冒注册商标的商品罪",
        "amount_involved": 80000,
        "threshold_article": "立案追诉标准（二）第六十九条",
        "is_ip_case": False,
        "facts_summary": "查获假冒运动鞋300双",
        "urgent": False,
        "officials_involved": True,
    }


def _case_with_a_clue(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    """A criminal transfer whose officer flagged a clue: (case id, referral id)."""
    with session_factory.begin() as session:
        officer = session.scalars(select(User).where(User.username == "scjg_officer1")).one()
        case = instances.start_instance(
            session,
            process_id="criminal_transfer",
            data={
                "agency_org": "YJS-SCJG",
                "case_no": "英市监罚〔2026〕88号",
                "party_name": "英吉沙县某商贸有限公司",
                "summary": "销售假冒注册商标的运动鞋",
            },
            user=officer,
        )
        task_id = session.scalars(
            select(HumanTask.id).where(HumanTask.instance_id == case.id)
        ).one()
        instances.complete_task(session, task_id=task_id, data=_crime_suspicion(), user=officer)
        referral = session.scalars(
            select(ProcessInstance).where(ProcessInstance.parent_id == case.id)
        ).one()
        return case.id, referral.id


def test_the_case_shows_only_that_a_clue_was_transferred(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    case_id, referral_id = _case_with_a_clue(session_factory)
    note = f"问题线索已移送（编号 #{referral_id}，时间"
    officer_page = login("scjg_officer1").get(f"/instances/{case_id}").get_data(as_text=True)
    assert note in officer_page
    assert f'href="/referrals/{referral_id}"' in officer_page
    assert f'href="/instances/{referral_id}"' not in officer_page
    liaison_page = login("scjg_liaison").get(f"/instances/{case_id}").get_data(as_text=True)
    assert note in liaison_page and f'href="/instances/{referral_id}"' in liaison_page
    reporter_status = login("scjg_officer1").get(f"/referrals/{referral_id}")
    assert reporter_status.status_code == 200
