"""Parallel multi-instance over a dict: one task per item, routed by `=item.org`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.cases import inbox
from engine.cases import instances
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import Role
from engine.models import User
from engine.settings import Settings
from tests.conftest import Clock
from tests.factories import deploy_fixture
from tests.factories import make_org
from tests.factories import make_user
from tests.integration.engine.support import open_tasks
from tests.integration.engine.support import reload

AGENCIES = {
    "food": {"org": "YJS-SCJGJ", "topic": "食品"},
    "land": {"org": "YJS-ZRZYJ", "topic": "土地"},
    "fire": {"org": "YJS-XFJY", "topic": "消防"},
}


def test_each_item_gets_a_task_routed_to_its_organization_and_results_merge_by_key(
    session: Session, officer: User, settings: Settings, clock: Clock
) -> None:
    make_org(session, code="YJS-ZRZYJ", org_type=OrgType.AGENCY, name="县自然资源局")
    make_org(session, code="YJS-XFJY", org_type=OrgType.AGENCY, name="县消防救援大队")
    land_officer = make_user(
        session, username="land_officer", org_code="YJS-ZRZYJ", role=Role.OFFICER
    )
    deploy_fixture(session, "mi_review")
    instance_id = instances.start_instance(
        session,
        process_id="mi_review",
        data={"agencies": AGENCIES},
        user=officer,
        settings=settings,
        now=clock.now,
    ).id

    tasks = open_tasks(session, instance_id)
    assert sorted((t.bpmn_id, t.org_code, t.role) for t in tasks) == [
        ("agency_review", "YJS-SCJGJ", "officer"),
        ("agency_review", "YJS-XFJY", "officer"),
        ("agency_review", "YJS-ZRZYJ", "officer"),
    ]
    assert [t.org_code for t in inbox.list_open_tasks(session, land_officer)] == ["YJS-ZRZYJ"]
    assert set(reload(session, instance_id).party_orgs) == {"YJS-SCJGJ", "YJS-ZRZYJ", "YJS-XFJY"}

    by_org = {t.org_code: t for t in tasks}
    instances.complete_task(
        session,
        task_id=by_org["YJS-ZRZYJ"].id,
        data={"review": "同意"},
        user=land_officer,
        settings=settings,
        now=clock.now,
    )
    assert len(open_tasks(session, instance_id)) == 2
    for org in ("YJS-SCJGJ", "YJS-XFJY"):
        actor = (
            officer
            if org == "YJS-SCJGJ"
            else make_user(session, username="fire_officer", org_code=org)
        )
        instances.complete_task(
            session,
            task_id=by_org[org].id,
            data={"review": f"{org} 意见"},
            user=actor,
            settings=settings,
            now=clock.now,
        )

    instance = reload(session, instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    data = instances.instance_data(session, instance)
    assert data["reviews"] == {"food": "YJS-SCJGJ 意见", "land": "同意", "fire": "YJS-XFJY 意见"}
    assert data["review_count"] == 3
    assert "item" not in data
