"""engine.people.access: who sees which instance (role x organization x kind), audits, tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.errors import NotFound
from engine.models import AuditEvent
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import InstanceReader
from engine.models import InstanceStatus
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.people import access
from engine.people import accounts

# kind -> (started_org, township_code, confidential, party org codes)
INSTANCE_KINDS: dict[str, tuple[str, str | None, bool, tuple[str, ...]]] = {
    "agency_case": ("YJS-SCJG", None, False, ("YJS-GA",)),
    "township_case": ("TWP-YINGJISHA", "TWP-YINGJISHA", False, ()),
    "agency_case_in_township": ("YJS-YJ", "TWP-WUQIA", False, ("YJS-JCY",)),
    "referral_by_scjg": ("YJS-SCJG", None, True, ("YJS-JW",)),
    "referral_by_wjw": ("YJS-WJW", None, True, ()),
    # A vertically managed agency's referral, received by the prefecture commission.
    "referral_to_prefecture": ("YJS-SW", None, True, ("KS-JW",)),
}
KINDS = tuple(INSTANCE_KINDS)
# kind -> usernames on its access list (InstanceReader)
READERS: dict[str, tuple[str, ...]] = {"referral_by_wjw": ("gov_head",)}

# username -> the kinds it may see, in KINDS order (a commission sees only what it received;
# gov_head is on the wjw referral's access list)
MATRIX: dict[str, tuple[bool, bool, bool, bool, bool, bool]] = {
    "admin": (True, True, True, False, False, False),
    "sfj_coordinator": (True, True, True, False, False, False),
    "sfj_legal": (False, False, False, False, False, False),
    "scjg_officer1": (True, False, False, False, False, False),
    "scjg_legal": (True, False, False, False, False, False),
    "scjg_head": (True, False, False, True, False, False),
    "scjg_liaison": (True, False, False, True, False, False),
    "yj_officer1": (False, False, True, False, False, False),
    "yj_head": (False, False, True, False, False, False),
    "wjw_head": (False, False, False, False, True, False),
    "wjw_officer1": (False, False, False, False, False, False),
    "ga_officer": (True, False, False, False, False, False),
    "ga_head": (True, False, False, False, False, False),
    "jcy_officer": (False, False, True, False, False, False),
    "jw_officer": (False, False, False, True, False, False),
    "ksjw_officer": (False, False, False, False, False, True),
    "yingjisha_officer1": (False, True, False, False, False, False),
    "yingjisha_head": (False, True, False, False, False, False),
    "wuqia_head": (False, False, True, False, False, False),
    "wuqia_officer2": (False, False, True, False, False, False),
    "gov_head": (False, False, False, False, True, False),
    "bb_officer": (False, False, False, False, False, False),
}


def _definition(session: Session) -> ProcessDefinition:
    definition = ProcessDefinition(
        process_id="access_demo", version=1, spec_hash="0" * 64, name="权限测试", files={}
    )
    session.add(definition)
    session.flush()
    return definition


def _instance(session: Session, definition: ProcessDefinition, kind: str) -> ProcessInstance:
    started_org, township, confidential, parties = INSTANCE_KINDS[kind]
    instance = ProcessInstance(
        definition_id=definition.id,
        spec_hash=definition.spec_hash,
        process_id=definition.process_id,
        title=f"secret title {kind}",
        status=InstanceStatus.RUNNING,
        state_json="{}",
        serializer_version="1",
        started_org=started_org,
        township_code=township,
        confidential=confidential,
    )
    session.add(instance)
    session.flush()
    session.add_all(InstanceParty(instance_id=instance.id, org_code=org) for org in parties)
    session.add_all(
        InstanceReader(instance_id=instance.id, username=name) for name in READERS.get(kind, ())
    )
    session.flush()
    return instance


@pytest.fixture(scope="module")
def instance_ids(
    session_factory: sessionmaker[Session], demo_accounts: list[tuple[str, str, str]]
) -> dict[str, int]:
    with session_factory.begin() as session:
        definition = _definition(session)
        return {kind: _instance(session, definition, kind).id for kind in KINDS}


@pytest.fixture
def instances(db_session: Session, instance_ids: dict[str, int]) -> dict[str, ProcessInstance]:
    return {kind: db_session.get_one(ProcessInstance, id_) for kind, id_ in instance_ids.items()}


def _user(session: Session, username: str) -> User:
    user = accounts.find_user(session, username)
    assert user is not None, username
    return user


@pytest.mark.parametrize("username", sorted(MATRIX))
def test_can_view_instance_follows_the_matrix(
    db_session: Session, instances: dict[str, ProcessInstance], username: str
) -> None:
    user = _user(db_session, username)
    seen = tuple(access.can_view_instance(db_session, user, instances[kind]) for kind in KINDS)
    assert dict(zip(KINDS, seen, strict=True)) == dict(zip(KINDS, MATRIX[username], strict=True))


@pytest.mark.parametrize("username", sorted(MATRIX))
def test_visible_instances_lists_exactly_what_can_be_viewed(
    db_session: Session, instance_ids: dict[str, int], username: str
) -> None:
    user = _user(db_session, username)
    listed = set(db_session.scalars(access.visible_instances(db_session, user)).all())
    listed_ids = {instance.id for instance in listed}
    expected = {instance_ids[k] for k, ok in zip(KINDS, MATRIX[username], strict=True) if ok}
    assert listed_ids & set(instance_ids.values()) == expected


def test_an_inactive_user_sees_nothing(
    db_session: Session, instances: dict[str, ProcessInstance]
) -> None:
    user, _ = accounts.create_user(
        db_session, username="left_scjg", org_code="YJS-SCJG", role=Role.HEAD, password="p" * 8
    )
    assert access.can_view_instance(db_session, user, instances["agency_case"])
    accounts.set_active(db_session, user, False)
    assert not access.can_view_instance(db_session, user, instances["agency_case"])
    assert not access.can_view_instance(db_session, user, instances["referral_by_scjg"])
    db_session.rollback()


def _confidential_reads(session: Session, instance_id: int) -> int:
    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.instance_id == instance_id, AuditEvent.kind == access.CONFIDENTIAL_READ
    )
    return session.scalar(stmt) or 0


def test_opening_a_confidential_instance_is_audited(
    db_session: Session, instance_ids: dict[str, int]
) -> None:
    instance_id = instance_ids["referral_by_scjg"]
    before = _confidential_reads(db_session, instance_id)
    user = _user(db_session, "jw_officer")
    instance = access.get_visible_instance(db_session, user, instance_id)
    db_session.commit()
    assert instance.id == instance_id
    assert _confidential_reads(db_session, instance_id) == before + 1
    event = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance_id)
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None
    assert event.actor == "jw_officer"
    assert event.detail == {"user_id": user.id, "org_code": "YJS-JW", "role": "officer"}


def test_opening_an_ordinary_instance_is_not_audited(
    db_session: Session, instance_ids: dict[str, int]
) -> None:
    instance_id = instance_ids["agency_case"]
    access.get_visible_instance(db_session, _user(db_session, "scjg_officer1"), instance_id)
    db_session.commit()
    assert _confidential_reads(db_session, instance_id) == 0


@pytest.mark.parametrize("username", ["admin", "sfj_coordinator", "scjg_officer1"])
def test_forbidden_confidential_instance_is_not_found_and_not_audited(
    db_session: Session, instance_ids: dict[str, int], username: str
) -> None:
    instance_id = instance_ids["referral_by_scjg"]
    before = _confidential_reads(db_session, instance_id)
    with pytest.raises(NotFound) as refused:
        access.get_visible_instance(db_session, _user(db_session, username), instance_id)
    assert "secret" not in refused.value.message
    db_session.commit()
    assert _confidential_reads(db_session, instance_id) == before


def test_missing_instance_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFound):
        access.get_visible_instance(db_session, _user(db_session, "admin"), 999_999)


def _task(**overrides: object) -> HumanTask:
    values: dict[str, object] = {
        "guid": "t",
        "instance_id": 1,
        "process_id": "access_demo",
        "bpmn_id": "register_case",
        "name": "登记",
        "role": "officer",
        "org_code": "YJS-SCJG",
        "assignee_id": None,
        "status": TaskStatus.OPEN,
    }
    values.update(overrides)
    return HumanTask(**values)


def test_unassigned_task_belongs_to_its_org_and_role(db_session: Session) -> None:
    task = _task()
    assert access.can_act_on_task(_user(db_session, "scjg_officer1"), task)
    assert access.can_act_on_task(_user(db_session, "scjg_officer2"), task)
    assert not access.can_act_on_task(_user(db_session, "scjg_head"), task)
    assert not access.can_act_on_task(_user(db_session, "yj_officer1"), task)


def test_assigned_task_belongs_to_its_assignee_only(db_session: Session) -> None:
    officer = _user(db_session, "scjg_officer1")
    task = _task(assignee_id=officer.id)
    assert access.can_act_on_task(officer, task)
    assert not access.can_act_on_task(_user(db_session, "scjg_officer2"), task)


def test_closed_task_cannot_be_acted_on(db_session: Session) -> None:
    task = _task(status=TaskStatus.COMPLETED)
    assert not access.can_act_on_task(_user(db_session, "scjg_officer1"), task)
    assert not access.can_act_on_behalf(_user(db_session, "scjg_head"), task)


def test_task_without_org_or_role_needs_an_assignee(db_session: Session) -> None:
    task = _task(role=None, org_code=None)
    assert not access.can_act_on_task(_user(db_session, "scjg_officer1"), task)


def test_head_may_act_on_behalf_of_own_officers_only(db_session: Session) -> None:
    head = _user(db_session, "scjg_head")
    assert access.can_act_on_behalf(head, _task())
    assert not access.can_act_on_behalf(head, _task(org_code="YJS-YJ"))
    assert not access.can_act_on_behalf(head, _task(role="legal_reviewer"))
    assert not access.can_act_on_behalf(_user(db_session, "scjg_officer1"), _task())
