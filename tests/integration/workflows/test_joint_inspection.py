"""joint_inspection (综合查一次): both paths through the engine services, step by step.

P1 draws objects and inspectors at random, serves a notice, visits the site and follows up
every kind of finding; P2 inspects targeted objects without notice, off site, after a head
returned the plan once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import Role
from engine.people import access
from engine.planning import draws
from engine.planning.drawing import verify_draw
from engine.planning.models import DrawKind
from engine.planning.models import DrawRecord
from engine.planning.models import InspectionHistory
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorAssignment
from tests.factories import make_user
from tests.integration.workflows.support import children
from tests.integration.workflows.support import complete
from tests.integration.workflows.support import data_of
from tests.integration.workflows.support import open_task
from tests.integration.workflows.support import open_tasks
from tests.integration.workflows.support import user

PROCESS = "joint_inspection"
LEAD = "YJS-SCJG"
HEADS = {"YJS-SCJG": "scjg_head", "YJS-YJ": "yj_head", "YJS-NYNC": "nync_head"}
OFFICERS = {"YJS-SCJG": "scjg_officer1", "YJS-YJ": "yj_officer1", "YJS-NYNC": "nync_officer1"}
FIELDS = {"YJS-SCJG": "market_regulation", "YJS-YJ": "work_safety", "YJS-NYNC": "agriculture"}
ALL_AGENCIES = sorted(FIELDS)

MON_0302 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MON_0302_LATER = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TUE_0303 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
WED_0304 = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
THU_0305 = datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
MON_0316 = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
# 10:00 Beijing on Tuesday 17 March: the last agency's result closes the findings.
TUE_0317 = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)
WED_0318 = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)
THU_0319 = datetime(2026, 3, 19, 2, 0, tzinfo=UTC)
MON_0413 = datetime(2026, 4, 13, 2, 0, tzinfo=UTC)
WED_0415 = datetime(2026, 4, 15, 2, 0, tzinfo=UTC)

# C-T3: 20 working days after Tue 17 March. Skipped: 20 March (肉孜节, Xinjiang), the
# weekends and 6 April (清明); counted 18, 19, 23-27, 30, 31 March, 1-3, 7-10, 13-16 April.
PUBLISH_DUE = "2026-04-16T23:59:59.999999+08:00"
# Clue hand-over, 3 working days after Tue 17 March: 18, 19 and (after 肉孜节 and the
# weekend) Monday 23 March.
CLUE_DUE = "2026-03-23T23:59:59.999999+08:00"
# C-T4: one calendar day after the rectification deadline (Friday 10 April) is Saturday
# 11 April, a rest day: moved to Monday 13 April.
RECTIFICATION_DEADLINE = "2026-04-10T18:00:00+08:00"
RECHECK_DUE = "2026-04-13T23:59:59.999999+08:00"


@pytest.fixture
def county_with_nync(county: Session) -> Session:
    """Yengisar plus two certified agriculture officers and a head at YJS-NYNC."""
    valid = ((["agriculture"], date(2029, 12, 31)),)
    make_user(county, username="nync_officer1", org_code="YJS-NYNC", certificates=valid)
    make_user(county, username="nync_officer2", org_code="YJS-NYNC", certificates=valid)
    make_user(county, username="nync_head", org_code="YJS-NYNC", role=Role.HEAD)
    return county


# Published seeds of the object draw and then the inspector draw: fixed, so the draws (and
# the recusals they meet in the demo registry) are the same on every run.
SEEDS = ("5eed" * 16, "7ea5" * 16)


@pytest.fixture
def fixed_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(draws, "new_seed", iter(SEEDS).__next__)


def start_data(selection_mode: str) -> dict[str, Any]:
    return {
        "inspection_title": "2026年春季餐饮与农资联合检查",
        "lead_org": LEAD,
        "lead_field": "market_regulation",
        "participants": {
            "YJS-YJ": {"org": "YJS-YJ", "field": "work_safety"},
            "YJS-NYNC": {"org": "YJS-NYNC", "field": "agriculture"},
        },
        "selection_mode": selection_mode,
        "object_count": 2,
        "object_filters": {},
        "inspection_year": 2026,
        "window_start": "2026-03-16",
        "window_end": "2026-03-31",
        "joint_list_ref": "YJS-LH-2026-01",
        "township_org": "TWP-YINGJISHA",
    }


def start(session: Session, selection_mode: str) -> ProcessInstance:
    return instances.start_instance(
        session,
        process_id=PROCESS,
        data=start_data(selection_mode),
        user=user(session, "scjg_officer1"),
        now=MON_0302,
    )


def assert_routed(task: HumanTask, org: str, role: str, lane: str) -> None:
    assert (task.org_code, task.role, task.lane) == (org, role, lane)
    assert task.assignee_id is None


def tasks_by_org(session: Session, instance_id: int, bpmn_id: str) -> dict[str, HumanTask]:
    found = [t for t in open_tasks(session, instance_id) if t.bpmn_id == bpmn_id]
    by_org = {t.org_code: t for t in found}
    assert len(by_org) == len(found)
    return {org: by_org[org] for org in sorted(by_org)}


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def confirm_items(session: Session, instance_id: int) -> None:
    confirms = tasks_by_org(session, instance_id, "confirm_agency_items")
    assert list(confirms) == ["YJS-NYNC", "YJS-YJ"]
    for org, task in confirms.items():
        assert_routed(task, org, "officer", "participant_officer")
        assert task.due_at is None
        items = [
            {
                "item_code": f"{org}-001",
                "item_name": "本部门随机抽查事项",
                "legal_basis": "《优化营商环境条例》第五十四条",
                "method": "site",
            }
        ]
        form = {"agency_items": items, "enforcement_field": FIELDS[org], "contact_person": "联络员"}
        complete(session, task, OFFICERS[org], form, now=MON_0302)
    confirmations = data_of(session, instance_id)["item_confirmations"]
    assert {code: c["field"] for code, c in confirmations.items()} == {
        "YJS-NYNC": "agriculture",
        "YJS-YJ": "work_safety",
    }
    assert confirmations["YJS-YJ"]["items"][0]["item_code"] == "YJS-YJ-001"


def plan_form(visit_date: str, *, mode: str, notice: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "visit_date": visit_date,
        "merge_decision": "none",
        "checklist": [
            {
                "item_code": "SCJG-001",
                "item_name": "食品经营许可检查",
                "legal_basis": "《食品安全法》",
                "method": "site" if mode == "site" else "written",
            }
        ],
        "inspection_mode": mode,
        "notice_mode": notice,
    }
    if mode == "non_site":
        form["non_site_reason"] = "台账可书面核查，能非现场的不进入现场"
    if notice == "surprise":
        form["surprise_reason"] = "投诉举报反映问题，预先通知可能影响取证"
    return form


def approve_all(session: Session, instance_id: int, now: datetime) -> None:
    approvals = tasks_by_org(session, instance_id, "agency_head_approval")
    assert list(approvals) == ALL_AGENCIES
    for org, task in approvals.items():
        assert_routed(task, org, "head", "agency_head")
        form = {"approval_decision": "approve", "approval_opinion": "同意", "inspection_code": org}
        complete(session, task, HEADS[org], form, now=now)


def finding(credit_code: str, outcome: str) -> dict[str, Any]:
    return {
        "item_code": "ITEM-1",
        "item_name": "一表通查事项",
        "object_credit_code": credit_code,
        "outcome": outcome,
        "description": "检查发现",
    }


def record_all_findings(
    session: Session,
    instance_id: int,
    outcomes: Mapping[str, list[str]],
    inspectors: Mapping[str, list[str]],
    credit_code: str,
) -> None:
    recordings = tasks_by_org(session, instance_id, "record_findings")
    assert list(recordings) == ALL_AGENCIES
    for org, task in recordings.items():
        assert_routed(task, org, "officer", "agency_officer")
        form = {
            "record_no": f"JC-{org}-01",
            "inspectors": inspectors[org],
            "findings": [finding(credit_code, outcome) for outcome in outcomes[org]],
        }
        complete(session, task, OFFICERS[org], form, now=TUE_0317)


def assert_publication_due(task: HumanTask) -> None:
    assert_routed(task, LEAD, "officer", "lead_officer")
    assert task.deadline is not None
    assert task.deadline["deadline_id"] == "C-T3"
    assert task.deadline["rule"] == "20wd"
    assert as_utc(task.deadline["start"]) == TUE_0317
    assert task.deadline["due"] == PUBLISH_DUE
    assert task.due_at == as_utc(PUBLISH_DUE)
    assert "2026-03-20" in [skipped["date"] for skipped in task.deadline["skipped"]]


def notify_and_publish(session: Session, instance_id: int, now: datetime) -> None:
    notice = open_task(session, instance_id, "notify_results")
    assert_routed(notice, LEAD, "officer", "lead_officer")
    complete(
        session,
        notice,
        "scjg_officer1",
        {
            "results_notice_no": "JG-2026-01",
            "results_summary": "各部门检查结果",
            "notice_service_date": "2026-03-18",
        },
        now=now,
    )
    publish = open_task(session, instance_id, "publish_results")
    assert_publication_due(publish)
    complete(
        session,
        publish,
        "scjg_officer1",
        {
            "platform": "both",
            "publication_date": now.date().isoformat(),
            "published_item_count": 6,
            "privacy_checked": True,
        },
        now=now,
    )


def run_random_draws(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """From the frozen seed to the submitted plan; returns the instance data after it."""
    seed_task = open_task(session, instance.id, "confirm_draw_seed")
    assert_routed(seed_task, LEAD, "officer", "lead_officer")
    draw = data_of(session, instance.id)["draw_record"]
    record = session.get(DrawRecord, draw["record_id"])
    assert record is not None
    assert record.kind == DrawKind.OBJECTS
    assert record.result is None
    assert (draw["seed"], draw["candidate_hash"]) == (SEEDS[0], record.candidate_hash)
    assert record.seed == SEEDS[0]
    assert draw["candidate_count"] == len(record.candidates) > 2
    assert record.params["agencies"] == ALL_AGENCIES
    assert record.params["instance_id"] == instance.id
    seed_view = instances.get_task_view(session, seed_task.id)
    assert seed_view.data["draw_record"]["seed"] == record.seed
    complete(
        session,
        seed_task,
        "scjg_officer1",
        {"seed_published": True, "publication_channel": "县政府网站", "draw_witnesses": "司法局"},
        now=MON_0302_LATER,
    )
    data = data_of(session, instance.id)
    objects = data["inspection_objects"]
    assert data["object_draw"]["record_id"] == record.id
    assert len(objects) == 2
    session.refresh(record)
    assert [o["credit_code"] for o in objects] == record.result["objects"]
    assert verify_draw(session, record.id).match
    registry = {o.credit_code: o for o in session.scalars(select(InspectionObject))}
    assert all(registry[o["credit_code"]].name == o["name"] for o in objects)
    dates = data["date_proposals"]["dates"]
    assert dates and all("2026-03-16" <= d <= "2026-03-31" for d in dates)
    plan = open_task(session, instance.id, "plan_inspection")
    assert_routed(plan, LEAD, "officer", "lead_officer")
    complete(
        session,
        plan,
        "scjg_officer1",
        plan_form(dates[0], mode="site", notice="notice"),
        now=TUE_0303,
    )
    return data_of(session, instance.id)


def assert_teams(session: Session, data: Mapping[str, Any], visit: date) -> dict[str, list[str]]:
    draw = data["inspector_draw"]
    record = session.get(DrawRecord, draw["record_id"])
    assert record is not None
    assert record.kind == DrawKind.INSPECTORS
    assert record.parent_id == data["object_draw"]["record_id"]
    assert record.seed == SEEDS[1]
    assert verify_draw(session, record.id).match
    teams = {org: [m["username"] for m in team] for org, team in draw["teams"].items()}
    assert sorted(teams) == ALL_AGENCIES
    for org, names in teams.items():
        assert len(set(names)) >= 2
        members = [user(session, name) for name in names]
        assert all(m.org_code == org and m.role == Role.OFFICER for m in members)
        assert all(any(FIELDS[org] in c.fields for c in m.certificates) for m in members)
    assigned = session.scalars(
        select(InspectorAssignment.day).where(InspectorAssignment.draw_record_id == record.id)
    )
    assert set(assigned) == {visit}
    return teams


def serve_notice_and_visit(session: Session, instance_id: int) -> None:
    notice = open_task(session, instance_id, "serve_inspection_notice")
    assert_routed(notice, LEAD, "officer", "lead_officer")
    assert notice.due_at is None
    form = {
        "notice_no": "JCTZ-2026-01",
        "notice_date": "2026-03-05",
        "served_to": "被检查单位",
        "service_method": "direct",
        "rights_informed": True,
    }
    complete(session, notice, "scjg_officer1", form, now=THU_0305)
    visit = open_task(session, instance_id, "conduct_site_visit")
    assert_routed(visit, LEAD, "officer", "lead_officer")
    form = {"site_record_no": "XCBL-01", "certificates_shown": True, "rights_informed": True}
    complete(session, visit, "scjg_officer1", form, now=MON_0316)


def assert_history(session: Session, instance_id: int, credit_codes: list[str]) -> None:
    rows = session.scalars(
        select(InspectionHistory).where(InspectionHistory.instance_id == instance_id)
    ).all()
    assert sorted((r.credit_code, r.agency_code) for r in rows) == sorted(
        (code, org) for code in credit_codes for org in ALL_AGENCIES
    )


def rectify_and_hand_over(session: Session, instance_id: int) -> None:
    order = open_task(session, instance_id, "issue_rectification_order")
    assert_routed(order, LEAD, "officer", "followup_officer")
    form = {
        "order_no": "ZLGZ-2026-01",
        "problems": "未按规定公示许可证",
        "legal_basis_text": "《食品安全法》",
        "rectification_deadline": RECTIFICATION_DEADLINE,
    }
    complete(session, order, "scjg_officer2", form, now=WED_0318)
    recheck = open_task(session, instance_id, "recheck_rectification")
    assert_routed(recheck, LEAD, "officer", "followup_officer")
    assert recheck.deadline is not None
    assert recheck.deadline["deadline_id"] == "C-T4"
    assert recheck.deadline["due"] == RECHECK_DUE
    assert recheck.due_at == as_utc(RECHECK_DUE)
    clue = open_task(session, instance_id, "hand_over_clue")
    assert_routed(clue, LEAD, "officer", "followup_officer")
    assert clue.deadline is not None
    assert (clue.deadline["rule"], clue.deadline["due"]) == ("3wd", CLUE_DUE)
    assert clue.due_at == as_utc(CLUE_DUE)
    form = {"clue_target_org": "YJS-WJW", "clue_letter_no": "YJ-XS-01", "clue_summary": "卫生线索"}
    complete(session, clue, "scjg_officer1", form, now=WED_0318)
    received = open_task(session, instance_id, "receive_clue")
    assert_routed(received, "YJS-WJW", "officer", "clue_receiver_officer")
    complete(
        session,
        received,
        "wjw_officer1",
        {"receipt_no": "WJW-SL-01", "clue_handling": "verify"},
        now=THU_0319,
    )
    form = {
        "recheck_method": "site",
        "recheck_result": "not_rectified",
        "recheck_note": "逾期未改正",
        "recheck_case_no": "SCJG-LA-2026-07",
    }
    complete(session, recheck, "scjg_officer1", form, now=MON_0413)


def crime_form(party_code: str) -> dict[str, Any]:
    return {
        "crime_case_no": "YJ-2026-015",
        "crime_party_name": "某化工商店",
        "crime_party_credit_code": party_code,
        "suspected_offence": "重大责任事故罪",
        "crime_summary": "违规储存危险化学品",
        "crime_urgent": False,
    }


def misconduct_form(party_code: str) -> dict[str, Any]:
    return {
        "misconduct_ref_no": "YJ-WT-2026-03",
        "misconduct_party_name": "某化工商店",
        "misconduct_party_credit_code": party_code,
    }


def penalty_form(case_no: str, party_code: str) -> dict[str, Any]:
    return {
        "penalty_case_no": case_no,
        "party_name": "某化工商店",
        "party_credit_code": party_code,
        "violation": "未落实安全生产责任",
        "legal_basis_text": "《安全生产法》",
    }


def follow_up_work_safety(session: Session, instance: ProcessInstance, party_code: str) -> None:
    penalty = open_task(session, instance.id, "open_penalty_case")
    assert_routed(penalty, "YJS-YJ", "officer", "followup_officer")
    complete(
        session, penalty, "yj_officer1", penalty_form("YJ-LA-2026-02", party_code), now=WED_0318
    )
    misconduct = open_task(session, instance.id, "register_misconduct_clue")
    assert_routed(misconduct, "YJS-YJ", "officer", "followup_officer")
    complete(session, misconduct, "yj_officer2", misconduct_form(party_code), now=WED_0318)
    # The inclusive join of YJS-YJ still waits for its crime branch.
    assert data_of(session, instance.id)["followup_results"] == {}
    crime = open_task(session, instance.id, "register_suspected_crime")
    assert_routed(crime, "YJS-YJ", "officer", "followup_officer")
    complete(session, crime, "yj_officer1", crime_form(party_code), now=THU_0319)
    assert_linked_children(session, instance, party_code)


def assert_linked_children(session: Session, instance: ProcessInstance, party_code: str) -> None:
    referral, transfer = children(session, instance.id)
    assert (transfer.process_id, transfer.confidential) == ("criminal_transfer", False)
    assert (referral.process_id, referral.confidential) == ("discipline_referral", True)
    assert referral.started_at == WED_0318
    # The officer who registered the clue (not the inspection's initiator) reports it, and
    # the referral belongs to that officer's agency: its liaison sees it, the lead's does not.
    assert referral.started_by_id == user(session, "yj_officer2").id
    assert referral.started_org == "YJS-YJ"
    assert access.can_view_instance(session, user(session, "yj_liaison"), referral)
    assert not access.can_view_instance(session, user(session, "scjg_liaison"), referral)
    assert not access.can_view_instance(session, user(session, "yj_officer2"), referral)
    assert transfer.started_at == THU_0319
    assert (
        data_of(session, transfer.id).items()
        >= {
            "agency_org": "YJS-YJ",
            "case_no": "YJ-2026-015",
            "party_credit_code": party_code,
            "suspected_offence": "重大责任事故罪",
            "urgent": False,
            "source_process": PROCESS,
        }.items()
    )
    assert_referral_data(session, referral, "YJS-YJ", party_code)
    assert_routed(
        open_task(session, transfer.id, "record_crime_suspicion"),
        "YJS-YJ",
        "officer",
        "agency_officer",
    )
    events = instances.list_audit(session, instance.id)
    linked = [e for e in events if e.kind == "linked_instance_started"]
    assert [e.detail for e in linked] == [
        {"child_id": referral.id, "process_id": "discipline_referral"},
        {"child_id": transfer.id, "process_id": "criminal_transfer"},
    ]


def assert_referral_data(
    session: Session, referral: ProcessInstance, org: str, party_code: str
) -> None:
    assert (
        data_of(session, referral.id).items()
        >= {
            "agency_org": org,
            "clue_source": "inspection",
            "clue_no": "YJ-WT-2026-03",
            "party_credit_code": party_code,
        }.items()
    )
    assert not {"person_name", "person_unit", "person_post", "conduct_type", "summary"} & set(
        data_of(session, referral.id)
    )
    register = open_task(session, referral.id, "register_clue")
    assert_routed(register, org, "discipline_liaison", "discipline_liaison")


@pytest.mark.usefixtures("fixed_seeds")
def test_random_draw_site_visit_and_every_follow_up(county_with_nync: Session) -> None:
    session = county_with_nync
    instance = start(session, "random")
    assert instance.title == "综合查一次：跨部门联合双随机检查：2026年春季餐饮与农资联合检查"
    assert set(instance.party_orgs) >= {LEAD, "YJS-YJ", "YJS-NYNC"}
    assert sorted(data_of(session, instance.id)["all_agencies"]) == ALL_AGENCIES
    confirm_items(session, instance.id)
    data = run_random_draws(session, instance)
    visit = date.fromisoformat(data["visit_date"])
    teams = assert_teams(session, data, visit)
    approve_all(session, instance.id, WED_0304)
    approvals = data_of(session, instance.id)["head_approvals"]
    assert {org: a["decision"] for org, a in approvals.items()} == dict.fromkeys(
        ALL_AGENCIES, "approve"
    )
    serve_notice_and_visit(session, instance.id)
    codes = [o["credit_code"] for o in data["inspection_objects"]]
    assert_history(session, instance.id, codes)
    outcomes = {
        "YJS-SCJG": ["rectify", "clue"],
        "YJS-YJ": ["penalty", "crime", "misconduct"],
        "YJS-NYNC": ["no_problem"],
    }
    record_all_findings(session, instance.id, outcomes, teams, codes[0])
    merged = data_of(session, instance.id)
    assert as_utc(merged["results_finalised_at"]) == TUE_0317
    assert sorted(merged["followup_agencies"]) == ["YJS-SCJG", "YJS-YJ"]
    assert len(merged["all_findings"]) == 6
    assert not merged["findings_by_agency"]["YJS-NYNC"]["actionable"]
    followups = {t.bpmn_id: t.org_code for t in open_tasks(session, instance.id)}
    assert followups == {
        "notify_results": LEAD,
        "issue_rectification_order": LEAD,
        "hand_over_clue": LEAD,
        "open_penalty_case": "YJS-YJ",
        "register_suspected_crime": "YJS-YJ",
        "register_misconduct_clue": "YJS-YJ",
    }
    notify_and_publish(session, instance.id, WED_0318)
    rectify_and_hand_over(session, instance.id)
    follow_up_work_safety(session, instance, codes[0])
    assert open_tasks(session, instance.id) == []
    final = data_of(session, instance.id)
    assert sorted(final["followup_results"]) == ["YJS-SCJG", "YJS-YJ"]
    assert instance.status == InstanceStatus.COMPLETED


def test_targeted_surprise_non_site_check_after_a_returned_plan(county_with_nync: Session) -> None:
    session = county_with_nync
    instance = start(session, "targeted")
    confirm_items(session, instance.id)
    targeted = open_task(session, instance.id, "enter_targeted_objects")
    assert_routed(targeted, LEAD, "officer", "lead_officer")
    obj = session.scalars(select(InspectionObject).order_by(InspectionObject.credit_code)).first()
    assert obj is not None
    objects = [{"credit_code": obj.credit_code, "name": obj.name}]
    form = {
        "targeted_basis": "complaint",
        "basis_ref": "12345-2026-0301",
        "inspection_objects": objects,
    }
    complete(session, targeted, "scjg_officer1", form, now=MON_0302_LATER)
    data = data_of(session, instance.id)
    assert "draw_record" not in data
    dates = data["date_proposals"]["dates"]
    plan = open_task(session, instance.id, "plan_inspection")
    complete(
        session,
        plan,
        "scjg_officer1",
        plan_form(dates[0], mode="non_site", notice="surprise"),
        now=TUE_0303,
    )
    assert "inspector_draw" not in data_of(session, instance.id)
    approvals = tasks_by_org(session, instance.id, "agency_head_approval")
    assert list(approvals) == ALL_AGENCIES
    returned = {"approval_decision": "return", "approval_opinion": "检查事项与通知理由需补充"}
    complete(session, approvals["YJS-YJ"], "yj_head", returned, now=TUE_0303)
    for org in ("YJS-NYNC", "YJS-SCJG"):
        ok = {"approval_decision": "approve", "approval_opinion": "同意"}
        complete(session, approvals[org], HEADS[org], ok, now=TUE_0303)
    replan = open_task(session, instance.id, "plan_inspection")
    assert_routed(replan, LEAD, "officer", "lead_officer")
    assert data_of(session, instance.id)["head_approvals"]["YJS-YJ"]["decision"] == "return"
    complete(
        session,
        replan,
        "scjg_officer1",
        plan_form(dates[-1], mode="non_site", notice="surprise"),
        now=WED_0304,
    )
    approve_all(session, instance.id, THU_0305)
    check = open_task(session, instance.id, "conduct_non_site_check")
    assert_routed(check, LEAD, "officer", "lead_officer")
    assert [t.bpmn_id for t in open_tasks(session, instance.id)] == ["conduct_non_site_check"]
    complete(
        session,
        check,
        "scjg_officer1",
        {"non_site_method": "written", "check_record_no": "SMHC-01"},
        now=MON_0316,
    )
    assert_history(session, instance.id, [obj.credit_code])
    inspectors = {
        "YJS-SCJG": ["scjg_officer1", "scjg_officer2"],
        "YJS-YJ": ["yj_officer1", "yj_officer3"],
        "YJS-NYNC": ["nync_officer1", "nync_officer2"],
    }
    outcomes = {org: ["no_problem"] for org in ALL_AGENCIES}
    record_all_findings(session, instance.id, outcomes, inspectors, obj.credit_code)
    assert data_of(session, instance.id)["followup_agencies"] == {}
    assert sorted(t.bpmn_id for t in open_tasks(session, instance.id)) == ["notify_results"]
    notify_and_publish(session, instance.id, WED_0415)
    assert children(session, instance.id) == []
    assert instance.status == InstanceStatus.COMPLETED


def test_targeted_site_visit_follow_ups_join_when_the_last_branch_ends(
    county_with_nync: Session,
) -> None:
    session = county_with_nync
    instance = start(session, "targeted")
    confirm_items(session, instance.id)
    obj = session.scalars(select(InspectionObject).order_by(InspectionObject.credit_code)).first()
    assert obj is not None
    form = {
        "targeted_basis": "referral",
        "basis_ref": "县政府转办〔2026〕3号",
        "inspection_objects": [{"credit_code": obj.credit_code, "name": obj.name}],
    }
    targeted = open_task(session, instance.id, "enter_targeted_objects")
    complete(session, targeted, "scjg_officer1", form, now=MON_0302_LATER)
    dates = data_of(session, instance.id)["date_proposals"]["dates"]
    plan = open_task(session, instance.id, "plan_inspection")
    form = plan_form(dates[0], mode="site", notice="notice")
    complete(session, plan, "scjg_officer1", form, now=TUE_0303)
    approve_all(session, instance.id, WED_0304)
    serve_notice_and_visit(session, instance.id)
    inspectors = {
        "YJS-SCJG": ["scjg_officer1", "scjg_officer3"],
        "YJS-YJ": ["yj_officer2", "yj_officer3"],
        "YJS-NYNC": ["nync_officer1", "nync_officer2"],
    }
    outcomes = {"YJS-SCJG": ["clue"], "YJS-YJ": ["rectify", "penalty"], "YJS-NYNC": ["misconduct"]}
    record_all_findings(session, instance.id, outcomes, inspectors, obj.credit_code)
    assert sorted(data_of(session, instance.id)["followup_agencies"]) == [
        "YJS-NYNC",
        "YJS-SCJG",
        "YJS-YJ",
    ]
    misconduct = open_task(session, instance.id, "register_misconduct_clue")
    assert_routed(misconduct, "YJS-NYNC", "officer", "followup_officer")
    complete(session, misconduct, "nync_officer1", misconduct_form(obj.credit_code), now=WED_0318)
    (referral,) = children(session, instance.id)
    assert (referral.process_id, referral.parent_id, referral.confidential) == (
        "discipline_referral",
        instance.id,
        True,
    )
    assert_referral_data(session, referral, "YJS-NYNC", obj.credit_code)
    clue = open_task(session, instance.id, "hand_over_clue")
    form = {
        "clue_target_org": "YJS-WJW",
        "clue_letter_no": "SCJG-XS-02",
        "clue_summary": "卫生线索",
    }
    complete(session, clue, "scjg_officer1", form, now=WED_0318)
    received = open_task(session, instance.id, "receive_clue")
    assert_routed(received, "YJS-WJW", "officer", "clue_receiver_officer")
    form = {"receipt_no": "WJW-SL-02", "clue_handling": "return", "handling_reason": "非本部门职权"}
    complete(session, received, "wjw_officer2", form, now=THU_0319)
    order = open_task(session, instance.id, "issue_rectification_order")
    assert_routed(order, "YJS-YJ", "officer", "followup_officer")
    form = {
        "order_no": "YJ-ZLGZ-01",
        "problems": "安全警示标志缺失",
        "legal_basis_text": "《安全生产法》",
        "rectification_deadline": RECTIFICATION_DEADLINE,
    }
    complete(session, order, "yj_officer2", form, now=THU_0319)
    recheck = open_task(session, instance.id, "recheck_rectification")
    assert recheck.due_at == as_utc(RECHECK_DUE)
    form = {"recheck_method": "written", "recheck_result": "rectified", "recheck_note": "已整改"}
    complete(session, recheck, "yj_officer2", form, now=MON_0413)
    # Every branch but the penalty case has ended: the YJS-YJ join still waits for it.
    assert data_of(session, instance.id)["followup_results"] == {}
    assert sorted(t.bpmn_id for t in open_tasks(session, instance.id)) == [
        "notify_results",
        "open_penalty_case",
    ]
    penalty = open_task(session, instance.id, "open_penalty_case")
    assert_routed(penalty, "YJS-YJ", "officer", "followup_officer")
    complete(
        session,
        penalty,
        "yj_officer3",
        penalty_form("YJ-LA-2026-09", obj.credit_code),
        now=MON_0413,
    )
    results = data_of(session, instance.id)["followup_results"]
    assert {org: as_utc(r["completed_at"]) for org, r in results.items()} == {
        "YJS-NYNC": WED_0318,
        "YJS-SCJG": THU_0319,
        "YJS-YJ": MON_0413,
    }
    assert instance.status == InstanceStatus.RUNNING
    notify_and_publish(session, instance.id, WED_0415)
    assert instance.status == InstanceStatus.COMPLETED
