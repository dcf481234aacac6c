"""Forms posted by a browser that does not play along: foreign acting organizations and
choices added by hand are refused with a field error, and the case does not move."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.execution import processes
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from tests.integration.web.web_demo import open_task
from tests.integration.web.web_demo import post_form

Login = Callable[..., FlaskClient]
OFFER_DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "web" / "offer_demo"
START_URL = "/instances/new/offer_demo"


@pytest.fixture(autouse=True)
def deployed(session_factory: sessionmaker[Session], demo_accounts: object) -> None:
    with session_factory.begin() as session:
        processes.deploy_folders(session, [OFFER_DEMO], actor="tester")


def _select(page: str, name: str) -> str:
    found = re.search(rf'<select id="f-{re.escape(name)}".*?</select>', page, re.S)
    assert found is not None, f"no select {name}"
    return found.group(0)


def _instances(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        counted = session.scalar(
            select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == "offer_demo")
        )
    return int(counted or 0)


def _start(client: FlaskClient, case_no: str, agency: str) -> int:
    response = post_form(client, START_URL, {"case_no": case_no, "agency_org": agency})
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.search(r"/instances/(\d+)$", response.headers["Location"])
    assert found is not None
    return int(found.group(1))


def test_the_acting_organization_offers_only_the_users_own(login: Login) -> None:
    page = login("yj_officer1").get(START_URL).get_data(as_text=True)

    acting = _select(page, "agency_org")
    assert 'value="YJS-YJ" selected' in acting
    assert "YJS-WJW" not in acting and "YJS-SCJG" not in acting
    assert 'value="YJS-WJW"' in _select(page, "partner_org"), "a counterpart may be any agency"


def test_starting_in_the_name_of_another_agency_is_a_field_error(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("yj_officer1")
    before = _instances(session_factory)

    response = post_form(client, START_URL, {"case_no": "TAMPER-1", "agency_org": "YJS-WJW"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-agency_org"' in page and "承办机关只能是您所在的机构" in page
    assert _instances(session_factory) == before


def test_a_date_added_in_the_browser_is_refused_and_the_case_stays_put(
    login: Login, session_factory: sessionmaker[Session]
) -> None:
    client = login("scjg_officer1")
    instance_id = _start(client, "TAMPER-2", "YJS-SCJG")
    task = open_task(session_factory, instance_id, "pick_date")
    assert "#choices" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)

    forged = {"visit_date": "1900-01-01", "visit_date.#choices": "1900-01-01"}
    response = post_form(client, f"/tasks/{task.id}", forged)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-visit_date"' in page and "检查日期只能从系统给出的选项中选择" in page
    offered = _select(page, "visit_date")
    assert 'value="2026-12-14"' in offered and "1900-01-01" not in offered
    assert open_task(session_factory, instance_id, "pick_date").id == task.id
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        assert (instance.status, instance.error) == (InstanceStatus.RUNNING, None)


def test_an_offered_date_goes_through(login: Login, session_factory: sessionmaker[Session]):
    client = login("scjg_officer1")
    instance_id = _start(client, "TAMPER-3", "YJS-SCJG")
    task = open_task(session_factory, instance_id, "pick_date")

    response = post_form(client, f"/tasks/{task.id}", {"visit_date": "2026-12-15"})

    assert response.status_code == 302
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        assert instance.status == InstanceStatus.COMPLETED
