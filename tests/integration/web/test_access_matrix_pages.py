"""The authorization matrix through the pages and the API: role x organization x instance kind.

Real instances (deserializable state) are given the starting organization, township,
confidentiality and parties of each kind; every demo user then opens each instance page, its
open task page and its API resource. A forbidden one answers 404 and leaks nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import instances
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import InstanceReader
from engine.models import ProcessInstance
from engine.models import User
from engine.people import accounts
from tests.integration.web.test_access_matrix import INSTANCE_KINDS
from tests.integration.web.test_access_matrix import KINDS
from tests.integration.web.test_access_matrix import MATRIX
from tests.integration.web.test_access_matrix import READERS
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

Login = Callable[..., FlaskClient]


def _secret(kind: str) -> str:
    return f"机密标题-{kind}"


def _shape(session: Session, instance_id: int, kind: str) -> None:
    started_org, township, confidential, parties = INSTANCE_KINDS[kind]
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(
            title=_secret(kind),
            started_org=started_org,
            township_code=township,
            confidential=confidential,
            party_orgs=sorted(parties),
        )
    )
    session.execute(delete(InstanceParty).where(InstanceParty.instance_id == instance_id))
    session.add_all(InstanceParty(instance_id=instance_id, org_code=org) for org in parties)
    session.add_all(
        InstanceReader(instance_id=instance_id, username=name) for name in READERS.get(kind, ())
    )


@pytest.fixture(scope="module")
def cases(
    session_factory: sessionmaker[Session], demo_accounts: object
) -> dict[str, tuple[int, int]]:
    """kind -> (instance id, id of its open task)."""
    deploy_web_demo(session_factory)
    found: dict[str, tuple[int, int]] = {}
    with session_factory.begin() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        for kind in KINDS:
            instance = instances.start_instance(
                session,
                process_id=PROCESS_ID,
                data={"case_no": f"M-{kind}", "agency_org": "YJS-SCJG"},
                user=admin,
            )
            _shape(session, instance.id, kind)
            task_id = session.scalar(
                select(HumanTask.id).where(HumanTask.instance_id == instance.id)
            )
            assert task_id is not None
            found[kind] = (instance.id, task_id)
    return found


@pytest.fixture(scope="module")
def tokens(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, str]:
    with session_factory.begin() as session:
        return {
            username: accounts.issue_api_token(session, _user(session, username), "matrix")
            for username in MATRIX
        }


def _user(session: Session, username: str) -> User:
    user = accounts.find_user(session, username)
    assert user is not None
    return user


def _check(response_status: int, body: str, kind: str, allowed: bool, where: str) -> None:
    if allowed:
        assert response_status == 200, where
    else:
        assert response_status == 404, where
        assert _secret(kind) not in body, f"{where} leaks the title"


@pytest.mark.parametrize("username", sorted(MATRIX))
def test_pages_follow_the_matrix(
    login: Login, cases: dict[str, tuple[int, int]], username: str
) -> None:
    client = login(username)
    for kind, allowed in zip(KINDS, MATRIX[username], strict=True):
        instance_id, task_id = cases[kind]
        page = client.get(f"/instances/{instance_id}")
        _check(page.status_code, page.get_data(as_text=True), kind, allowed, f"page {kind}")
        task = client.get(f"/tasks/{task_id}")
        if not allowed:
            _check(task.status_code, task.get_data(as_text=True), kind, False, f"task {kind}")


@pytest.mark.parametrize("username", sorted(MATRIX))
def test_api_follows_the_matrix(
    client: FlaskClient,
    tokens: dict[str, str],
    cases: dict[str, tuple[int, int]],
    username: str,
) -> None:
    headers = {"Authorization": f"Bearer {tokens[username]}"}
    for kind, allowed in zip(KINDS, MATRIX[username], strict=True):
        instance_id, _task_id = cases[kind]
        response = client.get(f"/api/v1/instances/{instance_id}", headers=headers)
        _check(response.status_code, response.get_data(as_text=True), kind, allowed, f"api {kind}")
    listed = client.get("/api/v1/tasks", headers=headers).get_data(as_text=True)
    for kind, allowed in zip(KINDS, MATRIX[username], strict=True):
        if not allowed:
            assert _secret(kind) not in listed


def test_supervision_lists_only_what_the_coordinator_may_see(
    login: Login, cases: dict[str, tuple[int, int]]
) -> None:
    page = login("sfj_coordinator").get("/supervision/").get_data(as_text=True)
    for kind, allowed in zip(KINDS, MATRIX["sfj_coordinator"], strict=True):
        assert (_secret(kind) in page) is allowed, kind
