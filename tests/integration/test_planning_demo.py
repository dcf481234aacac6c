"""The demo registry: plausible, valid, deterministic, and usable by a draw."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.demo.planning import FIELD_BY_AGENCY
from engine.demo.planning import seed_demo_registry
from engine.models import Certificate
from engine.models import Organization
from engine.models import User
from engine.planning import ops
from engine.planning.credit_code import is_valid_credit_code
from engine.planning.drawing import verify_draw
from engine.planning.models import AnnualPlan
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.models import JointItem
from engine.planning.townships import TOWNSHIP_CODES

YEAR = 2026


def test_demo_registry_is_valid_and_complete(session: Session) -> None:
    users_before = len(session.scalars(select(User)).all())
    summary = seed_demo_registry(session, rng_seed=1, year=YEAR)
    objects = session.scalars(select(InspectionObject)).all()
    assert summary.objects == len(objects) == 500
    assert all(is_valid_credit_code(o.credit_code) for o in objects)
    assert len({o.name for o in objects}) == 500
    assert {o.township_code for o in objects} == TOWNSHIP_CODES
    assert {"餐饮", "危险化学品", "药品零售"} <= {o.industry for o in objects}
    assert {o.risk_grade for o in objects} == {"low", "medium", "high"}
    plans = session.scalars(select(AnnualPlan).order_by(AnnualPlan.year)).all()
    assert [p.year for p in plans] == [YEAR, YEAR + 1]
    assert (plans[0].cap_per_agency_per_entity, plans[0].cap_all_agencies_per_entity) == (2, 4)
    assert summary.joint_items == len(session.scalars(select(JointItem)).all()) == 8
    assert summary.history > 0
    assert len(session.scalars(select(User)).all()) == users_before


def test_demo_registry_is_deterministic_for_a_seed(session: Session) -> None:
    def names(rng_seed: int) -> list[str]:
        nested = session.begin_nested()
        seed_demo_registry(session, rng_seed=rng_seed, year=YEAR, count=30)
        found = list(session.scalars(select(InspectionObject.credit_code).order_by("name")))
        nested.rollback()
        return found

    assert names(5) == names(5)
    assert names(5) != names(6)


def test_demo_leaves_a_seeded_registry_alone(session: Session) -> None:
    assert seed_demo_registry(session, year=YEAR, count=5).objects == 5
    again = seed_demo_registry(session, year=YEAR, count=5)
    assert (again.objects, again.items, again.joint_items, again.history) == (0, 0, 0, 0)
    assert len(session.scalars(select(InspectionObject)).all()) == 5


def test_demo_adds_conflicts_only_for_existing_certified_users(session: Session) -> None:
    session.add(Organization(code="YJS-SCJG", type="agency", name="市场监管局"))
    session.flush()
    users_before = len(session.scalars(select(User)).all())
    for i in range(30):
        user = User(username=f"officer{i}", org_code="YJS-SCJG", role="officer")
        user.certificates.append(
            Certificate(number=f"N{i}", fields=["market_regulation"], valid_until=date(2027, 1, 1))
        )
        session.add(user)
    session.flush()
    summary = seed_demo_registry(session, rng_seed=3, year=YEAR)
    conflicts = session.scalars(select(InspectorConflict)).all()
    assert summary.conflicts == len(conflicts) > 0
    assert len(session.scalars(select(User)).all()) == users_before + 30


def test_a_draw_on_demo_data_verifies(session: Session) -> None:
    for code in FIELD_BY_AGENCY:
        session.add(Organization(code=code, type="agency", name=code))
    seed_demo_registry(session, year=YEAR)
    prepared = ops.prepare_object_draw(
        session,
        actor="demo",
        lead_org="YJS-YJ",
        agencies=["YJS-SCJG", "YJS-STHJ"],
        count=5,
        filters={"industries": ["危险化学品"]},
        year=YEAR,
    )
    drawn = ops.run_object_draw(session, actor="demo", record_id=prepared["record_id"])
    assert [o["industry"] for o in drawn["objects"]] == ["危险化学品"] * 5
    assert verify_draw(session, prepared["record_id"]).match
