"""Fixtures for tests over the third-party corpus in ../shared/conformance (read, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engine.models import OrgType
from engine.models import Role
from engine.models import User
from tests.factories import make_org
from tests.factories import make_user

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "conformance"
SPIFF_TESTS = CORPUS / "spiffworkflow-tests"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"conformance corpus missing: {CORPUS}")
    return CORPUS


@pytest.fixture
def admin(session: Session) -> User:
    make_org(session, code="YJS-XXZX", org_type=OrgType.AGENCY, name="县信息中心")
    return make_user(session, username="model_admin", org_code="YJS-XXZX", role=Role.ADMIN)
