"""One-visit scheduling, the 30-day merge warning, history recording and the ops table."""

from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deadlines.calendar import add_override
from engine.errors import DomainRuleViolation
from engine.models import Certificate
from engine.models import Organization
from engine.models import User
from engine.planning import ops
from engine.planning import service
from engine.planning.credit_code import check_character
from engine.planning.models import DrawRecord
from engine.planning.models import InspectionHistory
from engine.planning.models import InspectorAssignment
from engine.planning.scheduling import propose_dates

SCJG, WJW = "YJS-SCJG", "YJS-WJW"
FIELDS = {SCJG: "market_regulation", WJW: "health"}
# Monday 30 Nov to Sunday 6 Dec 2026.
MON, TUE, WED, THU, FRI = (
    date(2026, 11, 30),
    date(2026, 12, 1),
    date(2026, 12, 2),
    date(2026, 12, 3),
    date(2026, 12, 4),
)
SUN = date(2026, 12, 6)


def credit(n: int) -> str:
    first17 = f"91653123MA{n:06d}0"
    return first17 + check_character(first17)


@pytest.fixture
def county(session: Session) -> Session:
    """Two agencies with exactly two certified officers each."""
    for code in (SCJG, WJW):
        session.add(Organization(code=code, type="agency", name=code))
    session.flush()
    for org in (SCJG, WJW):
        for i in range(2):
            user = User(username=f"{org.lower()}-{i}", org_code=org, role="officer")
            user.certificates.append(
                Certificate(
                    number=f"N-{org}-{i}", fields=[FIELDS[org]], valid_until=date(2027, 1, 1)
                )
            )
            session.add(user)
    session.flush()
    return session


def dates(session: Session, **extra: object) -> list[date]:
    params: dict[str, object] = {
        "agencies": FIELDS,
        "credit_codes": [credit(1)],
        "window_start": MON,
        "window_end": SUN,
    }
    params.update(extra)
    return propose_dates(session, **params).dates  # type: ignore[arg-type]


def test_all_working_days_are_proposed_when_everyone_is_free(county: Session) -> None:
    assert dates(county) == [MON, TUE, WED, THU, FRI]


def test_a_declared_unavailable_day_of_a_needed_officer_is_dropped(county: Session) -> None:
    service.declare_unavailable(county, username="yjs-wjw-1", day=WED, reason="出庭")
    assert dates(county) == [MON, TUE, THU, FRI]


def test_a_day_on_another_inspection_is_dropped(county: Session) -> None:
    user = county.scalars(select(User).filter_by(username="yjs-scjg-0")).one()
    record = DrawRecord(
        kind="inspectors",
        seed="s",
        algorithm_version="v",
        candidates={},
        candidate_hash="h",
        operator="x",
    )
    county.add(record)
    county.flush()
    county.add(InspectorAssignment(user_id=user.id, day=THU, draw_record_id=record.id))
    county.flush()
    assert dates(county) == [MON, TUE, WED, FRI]


def test_certificate_expiring_in_the_window_ends_the_proposals(county: Session) -> None:
    user = county.scalars(select(User).filter_by(username="yjs-scjg-1")).one()
    user.certificates[0].valid_until = TUE
    county.flush()
    assert dates(county) == [MON, TUE]


def test_named_team_only_needs_its_own_members_free(county: Session) -> None:
    service.declare_unavailable(county, username="yjs-wjw-1", day=WED)
    assert WED in dates(county, teams={WJW: ["yjs-wjw-0"]}, team_size=2)


def test_injected_working_day_rule_excludes_holidays(county: Session) -> None:
    def no_tuesdays(day: date) -> bool:
        return day.weekday() not in (1, 5, 6)

    assert dates(county, is_working_day=no_tuesdays) == [MON, WED, THU, FRI]


def test_reversed_window_is_refused(county: Session) -> None:
    with pytest.raises(DomainRuleViolation, match="ends before it starts"):
        dates(county, window_start=FRI, window_end=MON)


def history(session: Session, agency: str, day: date, instance_id: int) -> None:
    service.record_inspection(
        session, credit_codes=[credit(1)], agencies=[agency], day=day, instance_id=instance_id
    )


def test_another_agencys_planned_visit_within_30_days_is_a_merge_candidate(county: Session) -> None:
    history(county, "YJS-YJ", date(2026, 12, 20), 77)
    proposal = propose_dates(
        county, agencies=FIELDS, credit_codes=[credit(1)], window_start=MON, window_end=SUN
    )
    assert proposal.merge_candidates == [
        {
            "credit_code": credit(1),
            "agency": "YJS-YJ",
            "day": "2026-12-20",
            "instance_id": 77,
            "day_available": False,
        }
    ]
    assert proposal.warnings == [
        f"{credit(1)} will be inspected by YJS-YJ on 2026-12-20, within 30 days: "
        "merge into one visit"
    ]


def test_a_recent_past_visit_warns_without_a_merge(county: Session) -> None:
    history(county, "YJS-YJ", date(2026, 11, 10), 5)
    proposal = propose_dates(
        county, agencies=FIELDS, credit_codes=[credit(1)], window_start=MON, window_end=SUN
    )
    assert proposal.merge_candidates == []
    assert proposal.warnings == [
        f"{credit(1)} was inspected by YJS-YJ on 2026-11-10, within 30 days: "
        "reuse its results instead of a new visit"
    ]


def test_visits_beyond_30_days_or_by_participants_do_not_warn(county: Session) -> None:
    history(county, "YJS-YJ", date(2026, 10, 30), 1)
    history(county, "YJS-YJ", date(2027, 1, 7), 2)
    history(county, SCJG, date(2026, 12, 15), 3)
    proposal = propose_dates(
        county, agencies=FIELDS, credit_codes=[credit(1)], window_start=MON, window_end=SUN
    )
    assert proposal.warnings == []
    assert proposal.merge_candidates == []


def test_findings_are_recorded_once_per_agency_and_instance(county: Session) -> None:
    first = ops.record_inspection(
        county,
        actor="x",
        credit_codes=[credit(1), credit(2)],
        agencies=[SCJG, WJW],
        day="2026-12-01",
        instance_id=9,
    )
    again = ops.record_inspection(
        county,
        actor="x",
        credit_codes=[credit(1)],
        agencies=[SCJG],
        day="2026-12-02",
        instance_id=9,
    )
    assert (first, again) == ({"recorded": 4}, {"recorded": 0})
    assert county.scalar(select(func.count()).select_from(InspectionHistory)) == 4


def test_ops_table_names_every_operation() -> None:
    assert sorted(ops.OPERATIONS) == [
        "draw_inspectors",
        "prepare_object_draw",
        "propose_visit_dates",
        "record_inspection",
        "run_object_draw",
    ]


def test_propose_visit_dates_op_takes_drawn_objects_and_iso_dates(county: Session) -> None:
    history(county, "YJS-YJ", WED, 3)
    result = ops.OPERATIONS["propose_visit_dates"](
        county,
        actor="yjs-scjg-0",
        agencies=[SCJG, WJW],
        objects=[{"credit_code": credit(1), "name": "餐厅"}],
        window_start="2026-11-30",
        window_end="2026-12-06",
        instance_id=7,
    )
    assert result["dates"] == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    assert result["merge_candidates"][0]["day_available"] is True


def test_make_operations_binds_the_working_day_rule(county: Session) -> None:
    table = ops.make_operations(lambda day: day == THU)
    result = table["propose_visit_dates"](
        county, actor="x", agencies=FIELDS, objects=[credit(1)], window_start=MON, window_end=SUN
    )
    assert result["dates"] == ["2026-12-03"]


def test_bad_iso_date_is_a_domain_error(county: Session) -> None:
    with pytest.raises(DomainRuleViolation, match="window_start must be an ISO date"):
        ops.propose_visit_dates(
            county,
            actor="x",
            agencies=FIELDS,
            objects=[],
            window_start="30/11/2026",
            window_end=SUN,
        )


def test_operations_skip_holidays_of_the_county_calendar(county: Session) -> None:
    add_override(county, day=WED, kind="holiday", name="测试假日", region="xinjiang", actor="t")
    add_override(county, day=date(2026, 12, 5), kind="workday", name="调休", actor="t")
    result = ops.OPERATIONS["propose_visit_dates"](
        county, actor="x", agencies=FIELDS, objects=[credit(1)], window_start=MON, window_end=SUN
    )
    assert result["dates"] == ["2026-11-30", "2026-12-01", "2026-12-03", "2026-12-04", "2026-12-05"]
