"""The API of the case operations: return, withdraw, suspend, resume, terminate."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import inbox
from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from tests.integration.web.test_api import Api
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

USERS = ("admin", "scjg_officer1", "scjg_officer2", "scjg_head")
DATA = {"found_on": "2026-02-03", "amount": 10, "party": {"name": "某公司"}}


@pytest.fixture(scope="module")
def tokens(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, str]:
    deploy_web_demo(session_factory)
    with session_factory.begin() as session:
        issued = {}
        for username in USERS:
            user = find_user(session, username)
            assert user is not None
            issued[username] = issue_api_token(session, user, "test")
        return issued


@pytest.fixture
def api(app: Flask, tokens: dict[str, str]) -> Any:
    return lambda username: Api(app.test_client(), tokens[username])


def _at_head_review(api: Any, case_no: str) -> tuple[int, int, int]:
    """Instance id, the completed register_case task id and the open head_review task id."""
    started = api("scjg_officer1").post(
        "/instances",
        json={"process_id": PROCESS_ID, "data": {"case_no": case_no, "agency_org": "YJS-SCJG"}},
    )
    assert started.status_code == 201, started.get_json()
    [register] = [t for t in started.get_json()["tasks"] if t["state"] == "open"]
    done = api("scjg_officer1").post(f"/tasks/{register['id']}/complete", json={"data": DATA})
    assert done.status_code == 200, done.get_json()
    [review] = [t for t in done.get_json()["tasks"] if t["bpmn_id"] == "head_review"]
    return started.get_json()["id"], register["id"], review["id"]


def _open(body: dict[str, Any]) -> list[str]:
    return [t["bpmn_id"] for t in body["tasks"] if t["state"] == "open"]


def test_the_head_returns_the_case_with_a_reason(api: Any) -> None:
    _, _, review = _at_head_review(api, "OPS-1")
    head = api("scjg_head")

    no_reason = head.post(f"/tasks/{review}/return", json={"to": "register_case"})
    wrong_target = head.post(
        f"/tasks/{review}/return", json={"to": "police_receipt", "reason": "x"}
    )
    officer = api("scjg_officer1").post(
        f"/tasks/{review}/return", json={"to": "register_case", "reason": "x"}
    )
    returned = head.post(
        f"/tasks/{review}/return", json={"to": "register_case", "reason": "证据不足"}
    )
    again = head.post(f"/tasks/{review}/return", json={"to": "register_case", "reason": "证据不足"})

    assert (no_reason.status_code, list(no_reason.get_json()["fields"])) == (422, ["reason"])
    assert (wrong_target.status_code, list(wrong_target.get_json()["fields"])) == (422, ["to"])
    assert officer.status_code == 403
    assert returned.status_code == 200 and _open(returned.get_json()) == ["register_case"]
    assert again.status_code == 409


def test_the_officer_withdraws_until_the_head_claims(
    api: Any, session_factory: sessionmaker[Session]
) -> None:
    _, register, review = _at_head_review(api, "OPS-2")
    assert api("scjg_officer2").post(f"/tasks/{register}/withdraw").status_code == 403
    withdrawn = api("scjg_officer1").post(f"/tasks/{register}/withdraw")
    assert withdrawn.status_code == 200 and _open(withdrawn.get_json()) == ["register_case"]

    _, register, review = _at_head_review(api, "OPS-3")
    with session_factory.begin() as session:
        head = find_user(session, "scjg_head")
        assert head is not None
        inbox.claim_task(session, task_id=review, user=head)
    refused = api("scjg_officer1").post(f"/tasks/{register}/withdraw")
    assert refused.status_code == 409 and refused.get_json()["code"] == "conflict"


def test_suspend_resume_and_terminate(api: Any) -> None:
    instance_id, _, review = _at_head_review(api, "OPS-4")
    head = api("scjg_head")

    assert head.post(f"/instances/{instance_id}/suspend", json={}).status_code == 422
    officer = api("scjg_officer1").post(f"/instances/{instance_id}/suspend", json={"reason": "x"})
    suspended = head.post(f"/instances/{instance_id}/suspend", json={"reason": "等待鉴定"})
    blocked = head.post(f"/tasks/{review}/complete", json={"data": {}})
    twice = head.post(f"/instances/{instance_id}/suspend", json={"reason": "等待鉴定"})
    resumed = head.post(f"/instances/{instance_id}/resume", json={"reason": "鉴定已到"})
    terminated = api("admin").post(f"/instances/{instance_id}/terminate", json={"reason": "并案"})
    after = head.post(f"/instances/{instance_id}/resume", json={"reason": "x"})

    assert officer.status_code == 403
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert blocked.status_code == 409 and twice.status_code == 409
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "running"
    assert terminated.status_code == 200 and terminated.get_json()["status"] == "terminated"
    assert _open(terminated.get_json()) == []
    assert after.status_code == 409
