"""POST /api/v1/processes with several files: multipart, zip, and what it says it deployed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "spiffworkflow-tests"
SPIFF_DATA = CORPUS / "spiff" / "data"
BPMN_DATA = CORPUS / "bpmn" / "data"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"conformance corpus missing: {CORPUS}")


@pytest.fixture(scope="module")
def admin_token(session_factory: sessionmaker[Session], demo_accounts: object) -> str:
    with session_factory.begin() as session:
        user = find_user(session, "admin")
        assert user is not None
        return issue_api_token(session, user, "deploy-test")


@pytest.fixture
def admin_post(app: Flask, admin_token: str) -> Any:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}
    return lambda path, **kwargs: client.post(
        f"/api/v1{path}", headers={**headers, **kwargs.pop("headers", {})}, **kwargs
    )


def test_multipart_upload_deploys_every_process_and_names_them(admin_post: Any) -> None:
    files = [
        (
            io.BytesIO((SPIFF_DATA / "business_rule_task.bpmn").read_bytes()),
            "business_rule_task.bpmn",
        ),
        (
            io.BytesIO((SPIFF_DATA / "dmn" / "business_rules.dmn").read_bytes()),
            "business_rules.dmn",
        ),
    ]

    response = admin_post("/processes", data={"file": files}, content_type="multipart/form-data")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [d["process_id"] for d in body["deployed"]] == [body["process_id"]]
    assert body["deployed"][0]["created"] is True


def test_zip_upload_with_several_processes_lists_each(admin_post: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(BPMN_DATA / "correlation_two_conversations.bpmn", "m/conversations.bpmn")

    files = [(io.BytesIO(buffer.getvalue()), "models.zip")]
    response = admin_post("/processes", data={"file": files}, content_type="multipart/form-data")

    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["deployed"]) == 3


def test_problems_name_the_uploaded_file_not_a_placeholder(admin_post: Any) -> None:
    broken = b'<?xml version="1.0"?>\n<definitions>\n<oops>\n'
    files = [(io.BytesIO(broken), "prefecture_model.bpmn")]

    multipart = admin_post("/processes", data={"file": files}, content_type="multipart/form-data")
    raw = admin_post(
        "/processes",
        data=b'<definitions><process id="county_case" isExecutable="true"><oops></definitions>',
        headers={"Content-Type": "application/xml"},
    )

    assert multipart.status_code == 422
    assert multipart.get_json()["problems"][0]["file"] == "prefecture_model.bpmn"
    assert raw.status_code == 422
    assert raw.get_json()["problems"][0]["file"] == "county_case.bpmn"


def test_a_multipart_request_without_files_is_refused_in_chinese(admin_post: Any) -> None:
    response = admin_post("/processes", data={"other": "x"}, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "file" in response.get_json()["message"]


def test_warnings_come_back_with_the_deployment(admin_post: Any) -> None:
    model = BPMN_DATA / "exclusive_gateway_no_default.bpmn"

    response = admin_post(
        "/processes?filename=no_default.bpmn",
        data=model.read_bytes(),
        headers={"Content-Type": "application/xml"},
    )

    assert response.status_code == 201, response.get_json()
    [warning] = response.get_json()["warnings"]
    assert (warning["file"], warning["element"]) == ("no_default.bpmn", "Gateway_CheckValue")
    assert "none is the default" in warning["message"]


def test_query_parameters_the_document_does_not_declare_are_refused(
    app: Flask, admin_token: str
) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}

    unknown = client.get("/api/v1/tasks?colour=red", headers=headers)
    known = client.get("/api/v1/tasks?light=red", headers=headers)

    assert unknown.status_code == 400
    assert unknown.get_json()["fields"] == {"colour": "未知的查询参数"}
    assert known.status_code == 200
