"""discipline_referral: every path of the confidential model through the engine services.

The transfer deadline follows one of three rules (B-T1 from the conclusive opinion, B-T2
from discovery, B-T3 from the end of a special circumstance); the commission's receipt
arms a 3-month follow-up timer, fired here by moving a controllable clock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.models import InstanceStatus
from engine.models import TimerProjection
from engine.people import access
from tests.conftest import Clock
from tests.integration.workflows.support import Case
from tests.integration.workflows.support import Route
from tests.integration.workflows.support import assert_deadline
from tests.integration.workflows.support import at
from tests.integration.workflows.support import children
from tests.integration.workflows.support import data_of
from tests.integration.workflows.support import day_end
from tests.integration.workflows.support import open_tasks
from tests.integration.workflows.support import user

ROUTES: dict[str, Route] = {
    "discipline_liaison": ("YJS-SCJG", "discipline_liaison", "scjg_liaison"),
    "principal_head": ("YJS-SCJG", "head", "scjg_head"),
    "commission_officer": ("YJS-JW", "officer", "jw_officer"),
}
LANE_TASKS = {
    "discipline_liaison": (
        "register_clue",
        "screen_clue",
        "fix_evidence",
        "prepare_transfer_letter",
        "record_special_circumstance_end",
        "transfer_after_conclusive_opinion",
        "transfer_after_discovery",
        "transfer_after_special_circumstance",
        "follow_up_with_commission",
        "supply_additional_materials",
        "close_clue_entry",
    ),
    "principal_head": ("principal_head_approval",),
    "commission_officer": (
        "commission_receipt",
        "forward_to_other_supervisory_organ",
        "report_disposal_feedback",
    ),
}
LANES = {task: lane for lane, tasks in LANE_TASKS.items() for task in tasks}

DISCOVERED = "2026-03-13T16:00:00+08:00"
START = {
    "agency_org": "YJS-SCJG",
    "clue_source": "inspection",
    "person_name": "张某",
    "summary": "检查中发现所长收受企业财物",
    "case_no": "英联检〔2026〕4号",
    "party_name": "英吉沙县某商贸有限公司",
    "party_credit_code": "91653123MA7XXXXX1A",
}
REGISTER = {
    "clue_no": "XS-2026-001",
    "clue_source": "inspection",
    "person_name": "张某",
    "person_unit": "某市场监管所",
    "person_post": "所长",
    "is_party_member": True,
    "supervision_category": "civil_servant",
    "conduct_type": "bribery",
    "discovered_at": DISCOVERED,
    "summary": "收受企业财物",
    "evidence_list": "检查记录、转账截图",
    "confidentiality_level": "work_secret",
    "access_list": ["scjg_liaison", "scjg_head"],
}
LETTER = {
    "letter_no": "英市监纪移〔2026〕1号",
    "commission_org": "YJS-JW",
    "letter_summary": "收受财物",
    "attachments": "线索材料3份",
    "contact_person": "王某",
    "contact_phone": "0998-7654321",
}
SEALED = {"delivery_channel": "by_hand", "sealed": True}
FORWARD = {"receiving_organ": "喀什地区纪委监委", "forwarding_letter_no": "英纪转〔2026〕1号"}
OUTCOME = {
    "feedback_type": "outcome",
    "disposal_method": "preliminary_verification",
    "disposal_note": "已初核",
}
MATERIALS = {"feedback_type": "request_materials", "materials_requested": "转账记录原件"}


def screen(result: str) -> dict[str, Any]:
    data = {"screening_result": result, "screening_reasons": "属监察对象"}
    if result == "with_private_crime":
        data.update(
            case_no="英市监罚〔2026〕30号",
            party_name="英吉沙县某商贸有限公司",
            private_crime_summary="行贿",
        )
    return data


def fix(conclusive_at: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "fixed_evidence": "检查记录复印件",
        "no_questioning_confirmed": True,
        "clue_object_type": "other_official",
    }
    if conclusive_at:
        data.update(clue_object_type="own_work_object", conclusive_opinion_at=conclusive_at)
    return data


def head(decision: str, *, special: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"approval_decision": decision, "special_circumstance": special}
    if decision == "return":
        data["return_reasons"] = "材料不全"
    if special:
        data["special_circumstance_note"] = "涉及人员正在外地集中培训"
    return data


def receipt(outcome: str) -> dict[str, Any]:
    data = {"receipt_outcome": outcome, "receipt_signed_by": "案管室刘某"}
    if outcome == "no_jurisdiction":
        data["return_reasons"] = "不属监察对象"
    return data


def close(basis: str) -> dict[str, Any]:
    return {"closure_basis": basis, "closure_note": "已办结"}


def start_case(session: Session, clock: Clock) -> Case:
    clock.now = at("2026-03-16T09:00:00+08:00")
    instance = instances.start_instance(
        session,
        process_id="discipline_referral",
        data=START,
        user=user(session, "scjg_liaison"),
        now=clock.now,
    )
    return Case(session, instance.id, lanes=LANES, routes=ROUTES, clock=clock)


def screened(session: Session, clock: Clock, result: str) -> Case:
    case = start_case(session, clock)
    case.do("register_clue", REGISTER, "2026-03-16T10:00:00+08:00")
    assert case.data()["clue_registered_at"] == "2026-03-16T10:00:00+08:00"
    case.do("screen_clue", screen(result), "2026-03-16T15:00:00+08:00")
    return case


def approved_after_discovery(session: Session, clock: Clock) -> Case:
    """In scope, other official: B-T2, 15 working days from the discovery (Fri 03-13),
    skipping 肉孜节 03-20..22 and 清明 04-06: Tue 04-07."""
    case = screened(session, clock, "in_scope")
    case.do("fix_evidence", fix(), "2026-03-17T10:00:00+08:00")
    case.do("prepare_transfer_letter", LETTER, "2026-03-18T10:00:00+08:00")
    case.do("principal_head_approval", head("approve"), "2026-03-19T10:00:00+08:00")
    assert_deadline(
        case.expect("transfer_after_discovery"),
        start=DISCOVERED,
        due=day_end("2026-04-07"),
        unit="wd",
        deadline_id="B-T2",
    )
    case.do("transfer_after_discovery", SEALED, "2026-03-23T10:00:00+08:00")
    assert case.data()["transferred_at"] == "2026-03-23T10:00:00+08:00"
    return case


def closed(case: Case, basis: str, when: str) -> None:
    case.do("close_clue_entry", close(basis), when)
    assert case.data()["closure_basis"] == basis
    assert case.open_ids() == []
    assert case.status() == InstanceStatus.COMPLETED


def timers(session: Session, instance_id: int) -> list[tuple[str | None, object]]:
    rows = session.execute(
        select(TimerProjection.bpmn_id, TimerProjection.due_at).where(
            TimerProjection.instance_id == instance_id
        )
    )
    return [(bpmn_id, due_at) for bpmn_id, due_at in rows]


def assert_confidential(session: Session, instance_id: int) -> None:
    """Only the agency's liaison and head and the discipline commission see the clue."""
    instance = instances.get_instance(session, instance_id)
    assert instance.confidential is True
    names = (
        "scjg_liaison",
        "scjg_head",
        "jw_officer",
        "scjg_officer1",
        "ga_officer",
        "jcy_officer",
    )
    visible = {
        name: access.can_view_instance(session, user(session, name), instance) for name in names
    }
    assert visible == {
        "scjg_liaison": True,
        "scjg_head": True,
        "jw_officer": True,
        "scjg_officer1": False,
        "ga_officer": False,
        "jcy_officer": False,
    }


# ---------------------------------------------------------------- paths


def test_clue_transferred_after_discovery_and_closed_on_the_outcome(
    county: Session, clock: Clock
) -> None:
    """d01: B-T2 rule → own jurisdiction → disposal outcome → closed; confidential throughout."""
    case = approved_after_discovery(county, clock)
    assert_confidential(county, case.id)
    case.do("commission_receipt", receipt("own_jurisdiction"), "2026-03-24T10:00:00+08:00")
    assert case.data()["commission_received_at"] == "2026-03-24T10:00:00+08:00"
    assert timers(county, case.id) == [
        ("feedback_follow_up_timer", at("2026-06-24T10:00:00+08:00"))
    ]
    case.do("report_disposal_feedback", OUTCOME, "2026-04-10T10:00:00+08:00")
    assert timers(county, case.id) == []
    closed(case, "outcome_noted", "2026-04-13T10:00:00+08:00")


def test_clue_outside_the_referral_scope_ends_after_screening(
    county: Session, clock: Clock
) -> None:
    """d02: neither an official nor a party member → the referral ends."""
    case = screened(county, clock, "not_in_scope")
    assert case.data()["screening_result"] == "not_in_scope"
    assert children(county, case.id) == []
    assert case.open_ids() == []
    assert case.status() == InstanceStatus.COMPLETED


def test_private_crime_starts_a_criminal_transfer_and_the_clue_is_returned(
    county: Session, clock: Clock
) -> None:
    """d03: the party's crime starts a linked criminal_transfer; B-T1 from the conclusive
    opinion; the head returns the letter once; the commission returns the clue."""
    case = screened(county, clock, "with_private_crime")
    [transfer] = children(county, case.id)
    assert (transfer.process_id, transfer.parent_id, transfer.confidential) == (
        "criminal_transfer",
        case.id,
        False,
    )
    assert data_of(county, transfer.id) == {
        "agency_org": "YJS-SCJG",
        "case_no": "英市监罚〔2026〕30号",
        "party_name": "英吉沙县某商贸有限公司",
        "summary": "行贿",
        "source_process": "discipline_referral",
    }
    [record] = open_tasks(county, transfer.id)
    assert (record.bpmn_id, record.org_code, record.role) == (
        "record_crime_suspicion",
        "YJS-SCJG",
        "officer",
    )
    assert case.data()["criminal_transfer"] == {
        "instance_id": transfer.id,
        "process_id": "criminal_transfer",
    }
    case.do("fix_evidence", fix("2026-04-01T10:00:00+08:00"), "2026-04-01T15:00:00+08:00")
    case.do("prepare_transfer_letter", LETTER, "2026-04-02T10:00:00+08:00")
    case.do("principal_head_approval", head("return"), "2026-04-02T15:00:00+08:00")
    assert case.data()["return_reasons"] == "材料不全"
    case.do("prepare_transfer_letter", LETTER, "2026-04-03T10:00:00+08:00")
    case.do("principal_head_approval", head("approve"), "2026-04-03T15:00:00+08:00")
    # B-T1: 15 working days from Wed 04-01 (清明 04-06 skipped): Thu 04-23.
    assert_deadline(
        case.expect("transfer_after_conclusive_opinion"),
        start="2026-04-01T10:00:00+08:00",
        due=day_end("2026-04-23"),
        unit="wd",
        deadline_id="B-T1",
    )
    case.do("transfer_after_conclusive_opinion", SEALED, "2026-04-07T10:00:00+08:00")
    case.do("commission_receipt", receipt("no_jurisdiction"), "2026-04-08T10:00:00+08:00")
    closed(case, "returned", "2026-04-09T10:00:00+08:00")


def test_special_circumstance_delays_the_transfer_and_the_clue_is_forwarded(
    county: Session, clock: Clock
) -> None:
    """d04: special circumstance → B-T3 from its end → forwarded in full → closed on receipt."""
    case = screened(county, clock, "in_scope")
    case.do("fix_evidence", fix(), "2026-03-17T10:00:00+08:00")
    case.do("prepare_transfer_letter", LETTER, "2026-03-18T10:00:00+08:00")
    case.do("principal_head_approval", head("approve", special=True), "2026-03-19T10:00:00+08:00")
    assert case.open_ids() == ["record_special_circumstance_end"]
    ended = {
        "special_circumstance_ended_at": "2026-04-24T10:00:00+08:00",
        "special_circumstance_end_note": "培训结束",
    }
    case.do("record_special_circumstance_end", ended, "2026-04-24T15:00:00+08:00")
    # B-T3: 10 working days from Fri 04-24, skipping Labour Day 05-01..05-05 and counting
    # the make-up working Saturday 05-09: Tue 05-12.
    assert_deadline(
        case.expect("transfer_after_special_circumstance"),
        start="2026-04-24T10:00:00+08:00",
        due=day_end("2026-05-12"),
        unit="wd",
        deadline_id="B-T3",
    )
    case.do("transfer_after_special_circumstance", SEALED, "2026-05-12T10:00:00+08:00")
    case.do("commission_receipt", receipt("other_organ"), "2026-05-13T10:00:00+08:00")
    # B-T4: 5 working days from Wed 05-13.
    assert_deadline(
        case.expect("forward_to_other_supervisory_organ"),
        start="2026-05-13T10:00:00+08:00",
        due=day_end("2026-05-20"),
        unit="wd",
        deadline_id="B-T4",
    )
    case.do("forward_to_other_supervisory_organ", FORWARD, "2026-05-14T10:00:00+08:00")
    assert timers(county, case.id) == []
    closed(case, "receipt", "2026-05-15T10:00:00+08:00")


def test_partial_jurisdiction_follow_up_after_three_months_and_more_materials(
    county: Session, clock: Clock
) -> None:
    """d05: partly forwarded; no feedback 3 months after the receipt's disposal started, so
    the liaison follows up; then materials are requested, supplied and the outcome noted."""
    case = approved_after_discovery(county, clock)
    case.do("commission_receipt", receipt("partial"), "2026-04-08T10:00:00+08:00")
    case.do("forward_to_other_supervisory_organ", FORWARD, "2026-04-09T10:00:00+08:00")
    assert case.open_ids() == ["report_disposal_feedback"]
    assert timers(county, case.id) == [
        ("feedback_follow_up_timer", at("2026-07-09T10:00:00+08:00"))
    ]
    case.advance("2026-07-09T10:00:00+08:00")
    assert case.open_ids() == ["report_disposal_feedback"]
    # SpiffWorkflow fires a timer once the clock is past its due moment.
    case.advance("2026-07-09T10:00:01+08:00")
    assert case.open_ids() == ["follow_up_with_commission", "report_disposal_feedback"]
    # Follow-up within 5 working days of the reminder (Thu 07-09): Thu 07-16.
    assert_deadline(
        case.expect("follow_up_with_commission"),
        start="2026-07-09T10:00:01+08:00",
        due=day_end("2026-07-16"),
        unit="wd",
        deadline_id=None,
    )
    follow_up = {"follow_up_contact": "案管室刘某", "follow_up_result": "正在初核"}
    case.do("follow_up_with_commission", follow_up, "2026-07-10T10:00:00+08:00")
    assert case.open_ids() == ["report_disposal_feedback"]
    case.do("report_disposal_feedback", MATERIALS, "2026-07-13T10:00:00+08:00")
    assert_deadline(
        case.expect("supply_additional_materials"),
        start="2026-07-13T10:00:00+08:00",
        due=day_end("2026-07-20"),
        unit="wd",
        deadline_id=None,
    )
    case.do(
        "supply_additional_materials",
        {"supplied_materials": "转账记录原件"},
        "2026-07-14T10:00:00+08:00",
    )
    case.do("report_disposal_feedback", OUTCOME, "2026-07-20T10:00:00+08:00")
    closed(case, "outcome_noted", "2026-07-21T10:00:00+08:00")
