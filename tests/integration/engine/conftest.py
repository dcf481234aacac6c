"""Fixtures shared by the engine integration tests: an initiator and a head in one agency."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.models import Role
from engine.models import User
from tests.factories import make_user

AGENCY = "YJS-SCJGJ"


@pytest.fixture
def officer(session: Session) -> User:
    return make_user(session, username="officer_a", org_code=AGENCY, role=Role.OFFICER)


@pytest.fixture
def head(session: Session) -> User:
    return make_user(
        session, username="head_a", org_code=AGENCY, role=Role.HEAD, display_name="李四"
    )
