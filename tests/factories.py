"""Small keyword-argument factories for engine tests: they flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from engine.execution import catalog
from engine.models import Certificate
from engine.models import Organization
from engine.models import OrgType
from engine.models import ProcessDefinition
from engine.models import Role
from engine.models import User

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "engine"


def make_org(
    session: Session,
    *,
    code: str = "YJS-SCJGJ",
    org_type: OrgType = OrgType.AGENCY,
    name: str = "县市场监督管理局",
    township_code: str | None = None,
) -> Organization:
    """An organization, or the existing one with that code."""
    org = session.get(Organization, code)
    if org is None:
        org = Organization(
            code=code, type=org_type, name=name, township_code=township_code, active=True
        )
        session.add(org)
        session.flush()
    return org


def make_user(
    session: Session,
    *,
    username: str = "zhangsan",
    org_code: str = "YJS-SCJGJ",
    role: Role = Role.OFFICER,
    display_name: str = "张三",
    certificates: Sequence[tuple[Sequence[str], date]] = (),
    active: bool = True,
) -> User:
    """A user in `org_code` (created if missing); certificates as (fields, valid_until)."""
    make_org(session, code=org_code)
    user = User(
        username=username,
        display_name=display_name,
        password_hash="",
        org_code=org_code,
        role=role,
        active=active,
        failed_logins=0,
    )
    for index, (fields, valid_until) in enumerate(certificates):
        user.certificates.append(
            Certificate(
                number=f"{username}-{index}",
                fields=list(fields),
                valid_from=None,
                valid_until=valid_until,
            )
        )
    session.add(user)
    session.flush()
    return user


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def deploy_fixture(session: Session, name: str, *, actor: str = "tester") -> ProcessDefinition:
    """Deploy the process folder tests/fixtures/engine/<name>/."""
    definition, _created = catalog.deploy(
        session, catalog.read_folder(fixture_path(name)), actor=actor
    )
    return definition
