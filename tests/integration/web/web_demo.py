"""The web tests' own process: tests/fixtures/web/web_demo, with helpers to drive it."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from werkzeug.test import TestResponse

from engine.execution import processes
from engine.models import HumanTask
from engine.models import TaskStatus
from web.csrf import SESSION_KEY

WEB_DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "web" / "web_demo"
PROCESS_ID = "web_demo"


def deploy_web_demo(session_factory: sessionmaker[Session]) -> None:
    """Deploy the web_demo process folder (a no-op when it is already deployed)."""
    with session_factory.begin() as session:
        processes.deploy_folders(session, [WEB_DEMO], actor="tester")


def csrf(client: FlaskClient) -> str:
    with client.session_transaction() as flask_session:
        token = flask_session[SESSION_KEY]
    assert isinstance(token, str)
    return token


def post_form(client: FlaskClient, url: str, data: dict[str, object]) -> TestResponse:
    return client.post(url, data={**data, "csrf_token": csrf(client)})


def start_case(client: FlaskClient, case_no: str, agency: str = "YJS-SCJG") -> int:
    """Start web_demo through the 发起 page; return the new instance id."""
    response = post_form(
        client,
        f"/instances/new/{PROCESS_ID}",
        {"case_no": case_no, "agency_org": agency, "summary": "测试案情"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.search(r"/instances/(\d+)$", response.headers["Location"])
    assert found is not None
    return int(found.group(1))


def open_task(session_factory: sessionmaker[Session], instance_id: int, bpmn_id: str) -> HumanTask:
    """The open task (detached, attributes loaded); the read transaction is closed at once."""
    with session_factory() as session:
        task = session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.bpmn_id == bpmn_id,
                HumanTask.status == TaskStatus.OPEN,
            )
        )
        assert task is not None, f"no open {bpmn_id} in instance {instance_id}"
        session.expunge(task)
    return task


REGISTER_DATA = {
    "found_on": "2026-02-03",
    "amount": "1200.5",
    "party.name": "某某商贸有限公司",
    "party.credit_code": "",
    "measures": "查封\n扣押",
}
