"""The JSON API: bearer tokens, deploy, start, read, complete, messages, and its error shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

API_MESSAGE = Path(__file__).resolve().parents[2] / "fixtures" / "web" / "api_message.bpmn"
SIGNAL_CATCH = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "engine"
    / "signal_catch"
    / "signal_catch.bpmn"
)
STEP_FAILURES = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "engine"
    / "step_failures"
    / "step_failures.bpmn"
)
XML = {"Content-Type": "application/xml"}


@pytest.fixture(scope="module")
def tokens(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, str]:
    deploy_web_demo(session_factory)
    with session_factory.begin() as session:
        issued = {}
        for username in ("admin", "scjg_officer1", "scjg_officer2", "yj_officer1"):
            user = find_user(session, username)
            assert user is not None
            issued[username] = issue_api_token(session, user, "test")
        return issued


class Api:
    """A test client that sends one user's bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def api(app: Flask, tokens: dict[str, str]) -> Any:
    return lambda username: Api(app.test_client(), tokens[username])


def _is_error(body: dict[str, Any], code: str) -> bool:
    return body["code"] == code and isinstance(body["message"], str) and "fields" in body


def test_requests_without_a_valid_token_get_401(client: FlaskClient, tokens: object) -> None:
    missing = client.get("/api/v1/tasks")
    wrong = client.get("/api/v1/tasks", headers={"Authorization": "Bearer xt_not-a-token"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert _is_error(response.get_json(), "unauthorized")


def test_openapi_document_is_public(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/tasks/{task_id}/complete" in document["paths"]


def test_admin_deploys_bpmn_and_gets_its_version(api: Any) -> None:
    response = api("admin").post(
        "/processes?filename=api_message.bpmn", data=API_MESSAGE.read_bytes(), headers=XML
    )
    assert response.status_code == 201
    assert response.get_json()["process_id"] == "api_message"
    assert response.get_json()["version"] >= 1


def test_broken_bpmn_answers_422_with_problems(api: Any) -> None:
    broken = b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<oops>\n'
    response = api("admin").post("/processes?filename=broken.bpmn", data=broken, headers=XML)
    body = response.get_json()
    assert response.status_code == 422
    assert _is_error(body, "invalid_definition")
    assert body["problems"][0]["file"] == "broken.bpmn"
    assert isinstance(body["problems"][0]["line"], int)


def test_only_admins_deploy_and_only_xml(api: Any) -> None:
    officer = api("scjg_officer1").post("/processes", data=API_MESSAGE.read_bytes(), headers=XML)
    as_json = api("admin").post("/processes", json={"xml": "no"})
    assert officer.status_code == 403 and _is_error(officer.get_json(), "not_allowed")
    assert as_json.status_code == 415


def test_process_list_says_what_the_caller_may_start(api: Any) -> None:
    listed = {p["process_id"]: p for p in api("scjg_officer1").get("/processes").get_json()}
    assert listed[PROCESS_ID]["startable"] is True
    assert listed[PROCESS_ID]["title"] == "网页测试流程"
    assert listed[PROCESS_ID]["start_form"]["required"] == ["case_no", "agency_org"]


def _start(api: Any, case_no: str) -> dict[str, Any]:
    response = api("scjg_officer1").post(
        "/instances",
        json={"process_id": PROCESS_ID, "data": {"case_no": case_no, "agency_org": "YJS-SCJG"}},
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_start_read_and_complete_an_instance(api: Any) -> None:
    started = _start(api, "API-1")
    assert started["status"] == "running" and started["data"]["case_no"] == "API-1"
    [task] = [t for t in started["tasks"] if t["state"] == "open"]
    assert task["bpmn_id"] == "register_case" and task["lane"] == "agency_officer"
    assert task["due_at"] is not None

    open_ids = [t["id"] for t in api("scjg_officer1").get("/tasks").get_json()]
    assert task["id"] in open_ids
    data = {"found_on": "2026-02-03", "amount": 10, "party": {"name": "某公司"}}
    done = api("scjg_officer1").post(f"/tasks/{task['id']}/complete", json={"data": data})
    assert done.status_code == 200
    states = {t["bpmn_id"]: t["state"] for t in done.get_json()["tasks"]}
    assert states == {"register_case": "completed", "head_review": "open"}

    again = api("scjg_officer1").post(f"/tasks/{task['id']}/complete", json={"data": data})
    assert again.status_code == 409 and _is_error(again.get_json(), "conflict")


def test_invalid_task_data_answers_422_with_field_errors(api: Any) -> None:
    task = next(t for t in _start(api, "API-2")["tasks"] if t["state"] == "open")
    response = api("scjg_officer1").post(
        f"/tasks/{task['id']}/complete", json={"data": {"amount": -1}}
    )
    body = response.get_json()
    assert response.status_code == 422 and _is_error(body, "invalid_data")
    assert set(body["fields"]) >= {"found_on", "amount", "party"}


def test_instances_and_tasks_of_others_are_404(api: Any) -> None:
    started = _start(api, "API-3")
    task = next(t for t in started["tasks"] if t["state"] == "open")
    outsider = api("yj_officer1")
    assert outsider.get(f"/instances/{started['id']}").status_code == 404
    assert outsider.get("/instances/987654").status_code == 404
    complete = outsider.post(f"/tasks/{task['id']}/complete", json={"data": {}})
    assert complete.status_code == 404 and _is_error(complete.get_json(), "not_found")
    assert task["id"] not in [t["id"] for t in outsider.get("/tasks").get_json()]


def test_a_colleague_may_read_but_a_stranger_may_not_start(api: Any) -> None:
    started = _start(api, "API-4")
    assert api("scjg_officer2").get(f"/instances/{started['id']}").status_code == 200
    refused = api("yj_officer1").post("/instances", json={"process_id": "api_message"})
    assert refused.status_code == 403


def test_messages_reach_the_waiting_instance_only(api: Any) -> None:
    api("admin").post("/processes", data=API_MESSAGE.read_bytes(), headers=XML)
    started = api("admin").post(
        "/instances", json={"process_id": "api_message", "data": {"case_no": "MSG-1"}}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    wrong = api("admin").post(
        "/messages", json={"name": "case_receipt", "correlation": {"case_no": "MSG-0"}}
    )
    assert wrong.status_code == 404 and _is_error(wrong.get_json(), "not_found")
    message = {"name": "case_receipt", "correlation": {"case_no": "MSG-1"}, "payload": {"ok": 1}}
    outsider = api("scjg_officer1").post("/messages", json=message)
    assert outsider.status_code == 404 and _is_error(outsider.get_json(), "not_found")
    right = api("admin").post("/messages", json=message)
    assert right.status_code == 202 and right.get_json() == {"delivered_to": [instance_id]}
    tasks = api("admin").get(f"/instances/{instance_id}").get_json()["tasks"]
    assert [t["bpmn_id"] for t in tasks if t["state"] == "open"] == ["confirm_receipt"]


def _start_waiting(api: Any, *case_numbers: str) -> list[int]:
    api("admin").post("/processes", data=API_MESSAGE.read_bytes(), headers=XML)
    started = [
        api("admin").post(
            "/instances", json={"process_id": "api_message", "data": {"case_no": case_no}}
        )
        for case_no in case_numbers
    ]
    assert all(r.status_code == 201 for r in started), [r.get_json() for r in started]
    return [r.get_json()["id"] for r in started]


def test_a_message_matching_two_instances_is_409_ambiguous_unless_all(api: Any) -> None:
    first, second = _start_waiting(api, "AMB-1", "AMB-1")
    message = {"name": "case_receipt", "correlation": {"case_no": "AMB-1"}, "payload": {}}

    refused = api("admin").post("/messages", json=message)
    assert refused.status_code == 409
    assert _is_error(refused.get_json(), "ambiguous") and refused.get_json()["count"] == 2
    assert api("admin").get(f"/instances/{first}").get_json()["status"] == "waiting"

    everyone = api("admin").post("/messages", json={**message, "all": True})
    assert everyone.status_code == 202
    assert everyone.get_json() == {"delivered_to": [first, second]}


def test_a_message_without_its_correlation_values_is_422_naming_the_property(
    api: Any,
) -> None:
    _start_waiting(api, "MISS-1")

    refused = api("admin").post("/messages", json={"name": "case_receipt", "payload": {}})

    assert refused.status_code == 422
    assert _is_error(refused.get_json(), "invalid_data")
    assert list(refused.get_json()["fields"]) == ["correlation.case_no"]


def test_a_keyed_correlation_reaches_the_instance(api: Any) -> None:
    [instance_id] = _start_waiting(api, "KEY-1")
    message = {"name": "case_receipt", "correlation": {"case_key": {"case_no": "KEY-1"}}}

    delivered = api("admin").post("/messages", json=message)

    assert delivered.status_code == 202 and delivered.get_json()["delivered_to"] == [instance_id]


def test_all_must_be_a_boolean(api: Any) -> None:
    response = api("admin").post("/messages", json={"name": "case_receipt", "all": "yes"})
    assert response.status_code == 400 and "all" in response.get_json()["fields"]


def test_a_signal_reaches_every_waiting_instance_and_answers_the_count(api: Any) -> None:
    api("admin").post("/processes", data=SIGNAL_CATCH.read_bytes(), headers=XML)
    ids = [
        api("admin").post("/instances", json={"process_id": "signal_catch"}).get_json()["id"]
        for _ in range(2)
    ]

    response = api("admin").post("/signals", json={"name": "policy_changed", "payload": {}})

    assert response.status_code == 202
    assert response.get_json() == {"delivered": 2, "delivered_to": ids}
    tasks = api("admin").get(f"/instances/{ids[1]}").get_json()["tasks"]
    assert [t["bpmn_id"] for t in tasks if t["state"] == "open"] == ["review"]


def test_data_that_breaks_a_step_answers_422_and_leaves_an_incident(api: Any) -> None:
    api("admin").post("/processes", data=STEP_FAILURES.read_bytes(), headers=XML)
    started = api("admin").post("/instances", json={"process_id": "step_failures"}).get_json()
    [prepare] = started["tasks"]
    data = {"kind": "script", "total": 1, "parts": 0}

    response = api("admin").post(f"/tasks/{prepare['id']}/complete", json={"data": data})

    assert response.status_code == 422
    body = response.get_json()
    assert _is_error(body, "step_failed")
    assert body["incident"]["element"] == "compute_share"
    assert "ZeroDivision" in body["incident"]["message"]
    assert api("admin").get(f"/instances/{started['id']}").get_json()["status"] == "error"


def test_a_message_whose_payload_breaks_the_next_step_answers_422(api: Any) -> None:
    xml = (API_MESSAGE.parent / "api_message_script.bpmn").read_bytes()
    api("admin").post("/processes", data=xml, headers=XML)
    started = (
        api("admin")
        .post("/instances", json={"process_id": "api_message_script", "data": {"case_no": "AMT-1"}})
        .get_json()
    )
    message = {"name": "case_amount", "correlation": {"case_no": "AMT-1"}, "payload": {}}

    bad = api("admin").post("/messages", json={**message, "payload": {"amount": "x"}})

    assert bad.status_code == 422
    assert _is_error(bad.get_json(), "step_failed")
    assert bad.get_json()["failed_instances"] == [started["id"]]
    assert api("admin").get(f"/instances/{started['id']}").get_json()["status"] == "error"


def test_signals_reach_nobody_with_404(api: Any) -> None:
    response = api("admin").post("/signals", json={"name": "nobody_waits", "payload": {}})
    assert response.status_code == 404 and _is_error(response.get_json(), "not_found")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/instances", b"{not json"),
        ("/instances", b"[1, 2]"),
        ("/messages", b'"just a string"'),
        ("/tasks/1/complete", b"{"),
    ],
)
def test_malformed_json_is_400_with_the_error_shape(api: Any, path: str, body: bytes) -> None:
    response = api("admin").post(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert _is_error(response.get_json(), "invalid_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {}}, "process_id"),
        ({"process_id": 5}, "process_id"),
        ({"process_id": PROCESS_ID, "data": [1]}, "data"),
    ],
)
def test_wrongly_typed_members_are_400_naming_the_field(api: Any, body: Any, field: str) -> None:
    response = api("admin").post("/instances", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


@pytest.mark.parametrize("path", ["/nowhere", "/instances/abc", "/instances/%0Ax%3F", "/tasks/1/x"])
def test_unknown_api_paths_answer_in_the_error_shape(api: Any, path: str) -> None:
    response = api("admin").get(path)
    assert response.status_code == 404
    assert _is_error(response.get_json(), "not_found")


def test_huge_ids_are_404_not_500(api: Any) -> None:
    assert api("admin").get(f"/instances/{2**70}").status_code == 404
    assert api("admin").post(f"/tasks/{2**70}/complete", json={}).status_code == 404
    assert api("admin").get(f"/instances/{2**63}").status_code == 404


def test_nul_characters_are_refused_with_400_not_a_database_error(api: Any) -> None:
    response = api("admin").post("/instances", json={"process_id": "\x00", "data": {}})
    assert response.status_code == 400
    assert _is_error(response.get_json(), "invalid_request")
    nested = api("admin").post(
        "/messages", json={"name": "x", "correlation": {"case_no": "a\x00b"}, "payload": {}}
    )
    assert nested.status_code == 400


def _raw_post(api: Any, path: str, body: bytes) -> Any:
    return api("admin").post(path, data=body, headers={"Content-Type": "application/json"})


def test_json_nested_100000_deep_is_400_not_a_recursion_error(api: Any) -> None:
    deep = b'{"process_id": "x", "data": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    response = _raw_post(api, "/instances", deep)
    assert response.status_code == 400
    body = response.get_json()
    assert _is_error(body, "json_too_deep")
    assert "嵌套层数过多" in body["message"]


def test_json_depth_just_under_the_limit_is_read(api: Any) -> None:
    nested = b'{"name": "x", "payload": {"a": ' + b"[" * 30 + b"]" * 30 + b"}}"
    response = _raw_post(api, "/messages", nested)
    assert response.get_json()["code"] == "not_found"  # read, and no instance waits for x


def test_brackets_inside_strings_do_not_count_as_depth(api: Any) -> None:
    text = '{"name": "x", "payload": {"note": "' + "[{" * 1000 + '\\"]"}}'
    response = _raw_post(api, "/messages", text.encode())
    assert response.get_json()["code"] == "not_found"


def test_a_json_body_over_one_mebibyte_is_400(api: Any) -> None:
    big = b'{"name": "x", "payload": {"note": "' + b"a" * (1024 * 1024) + b'"}}'
    response = _raw_post(api, "/messages", big)
    assert response.status_code == 400
    assert _is_error(response.get_json(), "json_too_large")


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        (b'"\\ud800"', "代理项"),
        (b'"a\\udfffb"', "代理项"),
        (b'"\\uffff"', "非字符"),
        ('"\ufdd0"'.encode(), "非字符"),
        (b'"\\u0000"', "NUL"),
    ],
)
def test_lone_surrogates_and_noncharacters_are_400(api: Any, fragment: bytes, message: str) -> None:
    for body in (
        b'{"process_id": ' + fragment + b', "data": {}}',
        b'{"name": "x", "payload": {"k": [' + fragment + b"]}}",
        b'{"name": "x", "payload": {' + fragment + b": 1}}",
    ):
        path = "/instances" if b"process_id" in body else "/messages"
        response = _raw_post(api, path, body)
        assert response.status_code == 400, body
        assert _is_error(response.get_json(), "invalid_request")
        assert message in response.get_json()["message"]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_400(api: Any, constant: bytes) -> None:
    response = _raw_post(api, "/messages", b'{"name": "x", "payload": {"n": ' + constant + b"}}")
    assert response.status_code == 400
    assert _is_error(response.get_json(), "invalid_json")


def test_a_body_that_is_not_utf8_is_400(api: Any) -> None:
    response = _raw_post(api, "/messages", b'{"name": "\xff\xfe"}')
    assert response.status_code == 400
    assert _is_error(response.get_json(), "invalid_json")


def test_an_undeclared_method_is_405_with_the_allowed_methods(
    api: Any, client: FlaskClient
) -> None:
    put = api("admin").client.put("/api/v1/processes", headers=api("admin").headers)
    assert put.status_code == 405
    assert put.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert _is_error(put.get_json(), "http_405")
    options = api("admin").client.options("/api/v1/tasks", headers=api("admin").headers)
    assert options.headers["Allow"] == "GET, HEAD, OPTIONS"
    page = client.open("/login", method="TRACE")
    assert page.status_code == 405
    assert set(page.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_unknown_api_path_is_still_404(api: Any) -> None:
    assert api("admin").get("/no-such-thing").status_code == 404
