"""Property-based check of the JSON API against its own OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid, sent in-process with an admin
bearer token. No response may be a 5xx, every response must match the document, a
schema-valid request is never refused with 400, a schema-invalid one always is (or 404/422),
and an undeclared method gets 405 with an `Allow` header.

The settings (422 counts as accepting a schema-valid request) are those of
schemathesis.toml, which `st run` reads too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance
from schemathesis.specs.openapi.checks import unsupported_method
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from tests.integration.web.web_demo import deploy_web_demo
from web.openapi import openapi_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
    unsupported_method,
]
CONFIG = Path(__file__).resolve().parents[3] / "schemathesis.toml"


@pytest.fixture(scope="module")
def admin_token(session_factory: sessionmaker[Session], demo_accounts: object) -> str:
    deploy_web_demo(session_factory)
    with session_factory.begin() as session:
        admin = find_user(session, "admin")
        assert admin is not None
        return issue_api_token(session, admin, "schemathesis")


schema = schemathesis.openapi.from_dict(
    openapi_document(), config=SchemathesisConfig.from_path(CONFIG)
)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_matches_its_openapi_document(
    case: schemathesis.Case, app: Flask, admin_token: str
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)


def test_the_served_document_is_the_tested_one(app: Flask) -> None:
    assert app.test_client().get("/api/v1/openapi.json").get_json() == openapi_document()
