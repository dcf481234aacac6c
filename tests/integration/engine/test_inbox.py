"""The inbox holds exactly the routed tasks; claim, release and reassign."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.cases import inbox
from engine.cases import instances
from engine.errors import Conflict
from engine.errors import NotAllowed
from engine.models import HumanTask
from engine.models import OrgType
from engine.models import Role
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import make_org
from tests.factories import make_user
from tests.integration.engine.conftest import AGENCY
from tests.integration.engine.support import audit_kinds
from tests.integration.engine.support import open_tasks


@pytest.fixture
def police_task(session: Session, officer: User, settings: Settings, clock: Clock) -> HumanTask:
    make_org(session, code="YJS-GAJ", org_type=OrgType.POLICE, name="县公安局")
    deploy_fixture(session, "parallel_review")
    instance = instances.start_instance(
        session,
        process_id="parallel_review",
        data={"agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    return next(t for t in open_tasks(session, instance.id) if t.bpmn_id == "police_opinion")


@pytest.fixture
def police_pair(session: Session) -> tuple[User, User]:
    return (
        make_user(session, username="police_a", org_code="YJS-GAJ", role=Role.OFFICER),
        make_user(session, username="police_b", org_code="YJS-GAJ", role=Role.OFFICER),
    )


def test_the_inbox_holds_exactly_the_routed_tasks(
    session: Session,
    officer: User,
    head: User,
    police_task: HumanTask,
    police_pair: tuple[User, User],
) -> None:
    police_head = make_user(session, username="police_head", org_code="YJS-GAJ", role=Role.HEAD)

    assert [t.bpmn_id for t in inbox.list_open_tasks(session, officer)] == ["agency_opinion"]
    assert [t.id for t in inbox.list_open_tasks(session, police_pair[0])] == [police_task.id]
    assert [t.id for t in inbox.list_open_tasks(session, police_pair[1])] == [police_task.id]
    assert inbox.list_open_tasks(session, head) == []
    assert inbox.list_open_tasks(session, police_head) == []


def test_a_claimed_task_leaves_the_colleagues_inbox_and_returns_on_release(
    session: Session, police_task: HumanTask, police_pair: tuple[User, User]
) -> None:
    first, second = police_pair

    inbox.claim_task(session, task_id=police_task.id, user=first)

    assert [t.id for t in inbox.list_open_tasks(session, first)] == [police_task.id]
    assert inbox.list_open_tasks(session, second) == []
    with pytest.raises(Conflict, match="claimed"):
        inbox.claim_task(session, task_id=police_task.id, user=second)
    with pytest.raises(NotAllowed):
        inbox.release_task(session, task_id=police_task.id, user=second)

    inbox.release_task(session, task_id=police_task.id, user=first)
    assert [t.id for t in inbox.list_open_tasks(session, second)] == [police_task.id]
    assert audit_kinds(session, police_task.instance_id)[-2:] == ["task_claimed", "task_released"]


def test_claiming_a_task_of_another_organization_is_not_allowed(
    session: Session, officer: User, police_task: HumanTask
) -> None:
    with pytest.raises(NotAllowed):
        inbox.claim_task(session, task_id=police_task.id, user=officer)


def test_reassign_hands_the_task_to_a_colleague_only(
    session: Session,
    officer: User,
    police_task: HumanTask,
    police_pair: tuple[User, User],
    settings: Settings,
    clock: Clock,
) -> None:
    first, second = police_pair

    inbox.reassign_task(session, task_id=police_task.id, user=first, to_user_id=second.id)

    assert inbox.list_open_tasks(session, first) == []
    assert [t.id for t in inbox.list_open_tasks(session, second)] == [police_task.id]
    with pytest.raises(NotAllowed):
        inbox.reassign_task(session, task_id=police_task.id, user=second, to_user_id=officer.id)
    with pytest.raises(NotAllowed):
        instances.complete_task(
            session,
            task_id=police_task.id,
            data={"police_view": "x"},
            user=first,
            settings=settings,
            now=clock.now,
        )
    instances.complete_task(
        session,
        task_id=police_task.id,
        data={"police_view": "x"},
        user=second,
        settings=settings,
        now=clock.now,
    )
    with pytest.raises(Conflict, match="no longer open"):
        inbox.claim_task(session, task_id=police_task.id, user=second)


def test_a_task_routed_to_the_initiator_cannot_be_released_into_nowhere(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    deploy_fixture(session, "seq_gateway")
    instance = instances.start_instance(
        session,
        process_id="seq_gateway",
        data={"subject": "x", "agency_org": AGENCY},
        user=officer,
        settings=settings,
        now=clock.now,
    )
    [fill] = open_tasks(session, instance.id)

    with pytest.raises(NotAllowed, match="no pool"):
        inbox.release_task(session, task_id=fill.id, user=officer)

    assert [t.id for t in inbox.list_open_tasks(session, officer)] == [fill.id]


def test_a_lane_whose_organization_is_missing_from_the_data_is_logged(
    session: Session,
    officer: User,
    settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_org(session, code="YJS-GAJ", org_type=OrgType.POLICE, name="县公安局")
    deploy_fixture(session, "parallel_review")

    instance = instances.start_instance(
        session,
        process_id="parallel_review",
        data={"agency_org": ""},
        user=officer,
        settings=settings,
        now=clock.now,
    )

    orphan = next(t for t in open_tasks(session, instance.id) if t.bpmn_id == "agency_opinion")
    assert (orphan.org_code, orphan.assignee_id) == (None, None)
    assert f"instance {instance.id} task {orphan.guid} (agency_opinion)" in caplog.text
