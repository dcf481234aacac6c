"""Workflow tests: every instance a test leaves behind is inspected for flow coverage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.shipped import sync_shipped_overrides
from engine.demo.accounts import seed_demo_accounts
from engine.demo.planning import seed_demo_registry
from engine.execution import catalog
from engine.execution import store
from engine.execution.processes import deploy_folders
from engine.models import ProcessInstance
from tests.workflow_coverage import COVERAGE
from tests.workflow_coverage import WORKFLOWS


@pytest.fixture(autouse=True)
def _record_flow_coverage(session: Session) -> Iterator[None]:
    yield
    for instance in session.scalars(select(ProcessInstance)):
        parsed = catalog.get_parsed(instance.definition)
        workflow = store.load_state(instance.state_json, parsed, instance.serializer_version)
        COVERAGE.record(instance.process_id, workflow)
    COVERAGE.tests_recorded += 1


@pytest.fixture
def county(session: Session) -> Session:
    """The session with Yengisar's organizations and demo users, the holiday overrides, a
    small planning registry and every model in workflows/ deployed."""
    seed_demo_accounts(session)
    sync_shipped_overrides(session)
    seed_demo_registry(session, count=60, year=2026)
    deploy_folders(session, [WORKFLOWS], actor="test")
    session.flush()
    return session
