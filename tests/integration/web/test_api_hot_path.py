"""The API's hot path: one task read, one submit, answered from the step just run.

Counts come from a SQLAlchemy listener on the app's engine, so they are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import task_details
from engine.db import is_sqlite
from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from engine.people.accounts import list_api_tokens
from engine.people.accounts import revoke_token
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture(scope="module")
def tokens(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, str]:
    deploy_web_demo(session_factory)
    with session_factory.begin() as session:
        issued = {}
        for username in ("scjg_officer1", "yj_officer1"):
            user = find_user(session, username)
            assert user is not None
            issued[username] = issue_api_token(session, user, "hot path")
        return issued


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _start(app: Flask, token: str, case_no: str) -> dict[str, Any]:
    response = app.test_client().post(
        "/api/v1/instances",
        headers=_headers(token),
        json={"process_id": PROCESS_ID, "data": {"case_no": case_no, "agency_org": "YJS-SCJG"}},
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _open_task_id(instance: dict[str, Any]) -> int:
    [task_id] = [t["id"] for t in instance["tasks"] if t["state"] == "open"]
    assert isinstance(task_id, int)
    return task_id


@contextmanager
def counted(engine: Engine) -> Iterator[dict[str, list[str]]]:
    """SQL statements (first words) and transaction control seen on the engine."""
    seen: dict[str, list[str]] = {"statements": [], "control": [], "commits": []}

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = " ".join(statement.split()[:4])
        kind = "control" if words.startswith(TRANSACTION_CONTROL) else "statements"
        seen[kind].append(words)

    def on_commit(_conn: Any) -> None:
        seen["commits"].append("commit")

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def test_a_task_read_shows_its_form_instructions_legal_basis_and_deadline(
    app: Flask, tokens: dict[str, str]
) -> None:
    task_id = _open_task_id(_start(app, tokens["scjg_officer1"], "HOT-1"))

    response = app.test_client().get(
        f"/api/v1/tasks/{task_id}", headers=_headers(tokens["scjg_officer1"])
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == task_id and body["bpmn_id"] == "register_case"
    assert body["state"] == "open"
    assert body["instructions"] == "核对案件材料，填写当事人信息。"
    assert body["legal_basis"] == "《行政执法机关移送涉嫌犯罪案件的规定》第五条"
    assert body["form"]["type"] == "object" and "found_on" in body["form"]["properties"]
    assert body["deadline"]["basis"] == "《测试规定》第三条：三个工作日内登记"
    assert body["due_at"] is not None


def test_a_task_of_an_instance_the_caller_may_not_see_is_404(
    app: Flask, tokens: dict[str, str]
) -> None:
    task_id = _open_task_id(_start(app, tokens["scjg_officer1"], "HOT-2"))
    client = app.test_client()

    stranger = client.get(f"/api/v1/tasks/{task_id}", headers=_headers(tokens["yj_officer1"]))
    missing = client.get("/api/v1/tasks/987654", headers=_headers(tokens["scjg_officer1"]))

    assert stranger.status_code == 404 and stranger.get_json()["code"] == "not_found"
    assert missing.status_code == 404


def test_reading_and_submitting_a_task_costs_ten_statements_and_one_commit(
    app: Flask, tokens: dict[str, str], db_engine: Engine
) -> None:
    task_id = _open_task_id(_start(app, tokens["scjg_officer1"], "HOT-3"))
    client = app.test_client()
    headers = _headers(tokens["scjg_officer1"])
    data = {"found_on": "2026-02-03", "amount": 10, "party": {"name": "某公司"}}

    with counted(db_engine) as seen:
        read = client.get(f"/api/v1/tasks/{task_id}", headers=headers)
        done = client.post(
            f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data}
        )

    assert read.status_code == 200 and done.status_code == 200
    states = {t["bpmn_id"]: t["state"] for t in done.get_json()["tasks"]}
    assert states == {"register_case": "completed", "head_review": "open"}
    assert done.get_json()["data"]["amount"] == 10
    assert len(seen["statements"]) <= 10, seen["statements"]
    assert seen["commits"] == ["commit"]
    if is_sqlite(str(db_engine.url)):
        assert seen["control"] == ["BEGIN DEFERRED", "BEGIN IMMEDIATE"]


def test_a_revoked_token_is_refused_on_the_next_request(
    app: Flask, tokens: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        user = find_user(session, "yj_officer1")
        assert user is not None
        token = issue_api_token(session, user, "to revoke")
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=_headers(token)).status_code == 200

    with session_factory.begin() as session:
        [row] = [t for t in list_api_tokens(session, user_id=user.id) if t.label == "to revoke"]
        revoke_token(session, row.id)

    assert client.get("/api/v1/tasks", headers=_headers(token)).status_code == 401


def test_a_read_does_not_wait_for_a_writer_on_sqlite(
    app: Flask, tokens: dict[str, str], db_session: Session, db_engine: Engine
) -> None:
    if not is_sqlite(str(db_engine.url)):
        pytest.skip("PostgreSQL readers never wait for row locks")
    task_id = _open_task_id(_start(app, tokens["scjg_officer1"], "HOT-4"))
    db_session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this session holds the write lock
    try:
        response = app.test_client().get(
            f"/api/v1/tasks/{task_id}", headers=_headers(tokens["scjg_officer1"])
        )
    finally:
        db_session.rollback()

    assert response.status_code == 200


def test_a_read_whose_late_write_sqlite_refuses_answers_503_to_retry(
    app: Flask, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("INSERT INTO audit_event", {}, Exception("database is locked"))

    monkeypatch.setattr(task_details, "get_visible_task", refused)

    response = app.test_client().get("/api/v1/tasks/1", headers=_headers(tokens["yj_officer1"]))

    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["code"] == "busy"
