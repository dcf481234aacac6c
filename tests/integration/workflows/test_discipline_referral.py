"""discipline_referral: every path of the confidential model through the engine services.

The transfer deadline follows one of three rules (B-T1 from the conclusive opinion, B-T2
from discovery, B-T3 from the end of a special circumstance); the transfer sets the 3-month
follow-up (B-T5), a timer on the commission's disposal fired here by moving a controllable
clock. The receipt goes to the commission chosen in the transfer letter, which alone (with
the agency's head and liaison and the people on the access list) sees the referral; the
officer who reported the clue follows its status only.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import referrals
from engine.cases.referrals import ReferralStage
from engine.errors import InvalidTaskData
from engine.errors import NotFound
from engine.models import AuditEvent
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
PREFECTURE_ROUTES = {**ROUTES, "commission_officer": ("KS-JW", "officer", "ksjw_officer")}
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


def start_case(
    session: Session,
    clock: Clock,
    *,
    reporter: str = "scjg_liaison",
    routes: dict[str, Route] = ROUTES,
) -> Case:
    clock.now = at("2026-03-16T09:00:00+08:00")
    instance = instances.start_instance(
        session,
        process_id="discipline_referral",
        data=START,
        user=user(session, reporter),
        now=clock.now,
    )
    return Case(session, instance.id, lanes=LANES, routes=routes, clock=clock)


def screened(session: Session, clock: Clock, result: str) -> Case:
    case = start_case(session, clock)
    return register_and_screen(case, result)


def register_and_screen(case: Case, result: str) -> Case:
    case.do("register_clue", REGISTER, "2026-03-16T10:00:00+08:00")
    assert case.data()["clue_registered_at"] == "2026-03-16T10:00:00+08:00"
    case.do("screen_clue", screen(result), "2026-03-16T15:00:00+08:00")
    return case


def approved_after_discovery(
    session: Session, clock: Clock, case: Case | None = None, letter: dict[str, Any] = LETTER
) -> Case:
    """In scope, other official: B-T2, 15 working days from the discovery (Fri 03-13),
    skipping 肉孜节 03-20..22 and 清明 04-06: Tue 04-07."""
    case = register_and_screen(case, "in_scope") if case else screened(session, clock, "in_scope")
    case.do("fix_evidence", fix(), "2026-03-17T10:00:00+08:00")
    case.do("prepare_transfer_letter", letter, "2026-03-18T10:00:00+08:00")
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
    """Only the agency's liaison and head and the receiving commission see the clue."""
    instance = instances.get_instance(session, instance_id)
    assert instance.confidential is True
    names = (
        "scjg_liaison",
        "scjg_head",
        "jw_officer",
        "ksjw_officer",
        "scjg_officer1",
        "ga_officer",
        "jcy_officer",
        "sfj_coordinator",
        "admin",
    )
    visible = {
        name: access.can_view_instance(session, user(session, name), instance) for name in names
    }
    assert visible == {
        "scjg_liaison": True,
        "scjg_head": True,
        "jw_officer": True,
        "ksjw_officer": False,
        "scjg_officer1": False,
        "ga_officer": False,
        "jcy_officer": False,
        "sfj_coordinator": False,
        "admin": False,
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
    # B-T5 runs from the transfer (Mon 03-23 10:00), not from the receipt a day later.
    assert case.data()["follow_up_due_at"] == "2026-06-23T02:00:00+00:00"
    assert timers(county, case.id) == [
        ("feedback_follow_up_timer", at("2026-06-23T10:00:00+08:00"))
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
        "started_at": "2026-03-16T07:00:00+00:00",
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
    """d05: received late and partly forwarded; no feedback 3 months after the transfer, so
    the liaison follows up; then materials are requested, supplied and the outcome noted."""
    case = approved_after_discovery(county, clock)
    case.do("commission_receipt", receipt("partial"), "2026-04-08T10:00:00+08:00")
    case.do("forward_to_other_supervisory_organ", FORWARD, "2026-04-09T10:00:00+08:00")
    assert case.open_ids() == ["report_disposal_feedback"]
    # Transferred Mon 03-23 10:00: the follow-up is due 3 months later, receipt or not.
    assert timers(county, case.id) == [
        ("feedback_follow_up_timer", at("2026-06-23T10:00:00+08:00"))
    ]
    case.advance("2026-06-23T10:00:00+08:00")
    assert case.open_ids() == ["report_disposal_feedback"]
    # SpiffWorkflow fires a timer once the clock is past its due moment.
    case.advance("2026-06-23T10:00:01+08:00")
    assert case.open_ids() == ["follow_up_with_commission", "report_disposal_feedback"]
    # Follow-up within 5 working days of the reminder (Tue 06-23): Tue 06-30.
    assert_deadline(
        case.expect("follow_up_with_commission"),
        start="2026-06-23T10:00:01+08:00",
        due=day_end("2026-06-30"),
        unit="wd",
        deadline_id=None,
    )
    follow_up = {"follow_up_contact": "案管室刘某", "follow_up_result": "正在初核"}
    case.do("follow_up_with_commission", follow_up, "2026-06-24T10:00:00+08:00")
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
    # Supplied materials restart the 3 months: no second follow-up falls due at once.
    assert case.open_ids() == ["report_disposal_feedback"]
    assert timers(county, case.id) == [
        ("feedback_follow_up_timer", at("2026-10-14T10:00:00+08:00"))
    ]
    case.do("report_disposal_feedback", OUTCOME, "2026-07-20T10:00:00+08:00")
    closed(case, "outcome_noted", "2026-07-21T10:00:00+08:00")


# ---------------------------------------------------------------- need-to-know


def visible_to(session: Session, username: str, instance_id: int) -> bool:
    instance = instances.get_instance(session, instance_id)
    return access.can_view_instance(session, user(session, username), instance)


def test_only_the_commission_chosen_in_the_letter_receives_and_sees_the_referral(
    county: Session, clock: Clock
) -> None:
    """d06: a vertically managed agency's clue goes to the prefecture commission KS-JW (the
    letter's choice, not the county's first commission); no commission sees it before the
    transfer, and the county commission never does."""
    case = start_case(county, clock, routes=PREFECTURE_ROUTES)
    assert not visible_to(county, "ksjw_officer", case.id)
    assert not visible_to(county, "jw_officer", case.id)
    approved_after_discovery(county, clock, case, letter={**LETTER, "commission_org": "KS-JW"})
    assert case.expect("commission_receipt").org_code == "KS-JW"
    assert visible_to(county, "ksjw_officer", case.id)
    assert not visible_to(county, "jw_officer", case.id)
    case.do("commission_receipt", receipt("own_jurisdiction"), "2026-03-24T10:00:00+08:00")
    assert case.expect("report_disposal_feedback").org_code == "KS-JW"
    listed = county.scalars(access.visible_instances(county, user(county, "jw_officer")))
    assert case.id not in {i.id for i in listed}


def test_people_on_the_access_list_see_the_referral_once_it_is_registered(
    county: Session, clock: Clock
) -> None:
    """d07: register_clue.access_list grants sight to the named users, and only to them."""
    case = start_case(county, clock)
    assert not visible_to(county, "wjw_head", case.id)
    with pytest.raises(InvalidTaskData) as refused:
        case.do(
            "register_clue",
            {**REGISTER, "access_list": ["wjw_head", "nobody"]},
            "2026-03-16T09:30:00+08:00",
        )
    assert refused.value.field_errors == {"access_list": "没有这个用户：nobody"}
    register = {**REGISTER, "access_list": ["scjg_liaison", "wjw_head"]}
    case.do("register_clue", register, "2026-03-16T10:00:00+08:00")
    assert visible_to(county, "wjw_head", case.id)
    assert not visible_to(county, "wjw_liaison", case.id)
    assert not visible_to(county, "jw_officer", case.id)
    listed = county.scalars(access.visible_instances(county, user(county, "wjw_head")))
    assert case.id in {i.id for i in listed}
    case.do("screen_clue", screen("not_in_scope"), "2026-03-16T15:00:00+08:00")
    assert visible_to(county, "wjw_head", case.id)


def reporter_reads(session: Session, instance_id: int) -> int:
    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.instance_id == instance_id, AuditEvent.kind == referrals.REPORTER_READ
    )
    return session.scalar(stmt) or 0


def assert_status(session: Session, case: Case, stage: ReferralStage, *dates: str | None) -> None:
    status = referrals.get_referral_status(session, user(session, "scjg_officer1"), case.id)
    assert status.stage == stage
    moments = (status.registered_at, status.transferred_at, status.received_at, status.closed_at)
    assert moments == tuple(at(d) if d else None for d in dates)


def test_the_officer_who_found_the_clue_follows_its_status_not_its_contents(
    county: Session, clock: Clock
) -> None:
    """d08: the reporter sees received / under review / closed with dates, never the referral."""
    case = start_case(county, clock, reporter="scjg_officer1")
    assert not visible_to(county, "scjg_officer1", case.id)
    registered = "2026-03-16T09:00:00+08:00"
    assert_status(county, case, ReferralStage.REGISTERED, registered, None, None, None)
    approved_after_discovery(county, clock, case)
    transferred = "2026-03-23T10:00:00+08:00"
    assert_status(county, case, ReferralStage.TRANSFERRED, registered, transferred, None, None)
    case.do("commission_receipt", receipt("own_jurisdiction"), "2026-03-24T10:00:00+08:00")
    received = "2026-03-24T10:00:00+08:00"
    assert_status(county, case, ReferralStage.UNDER_REVIEW, registered, transferred, received, None)
    case.do("report_disposal_feedback", OUTCOME, "2026-04-10T10:00:00+08:00")
    closed(case, "outcome_noted", "2026-04-13T10:00:00+08:00")
    done = "2026-04-13T10:00:00+08:00"
    assert_status(county, case, ReferralStage.CLOSED, registered, transferred, received, done)
    assert not visible_to(county, "scjg_officer1", case.id)
    assert reporter_reads(county, case.id) == 4
    [listed] = referrals.list_reported_referrals(county, user(county, "scjg_officer1"))
    assert (listed.instance_id, listed.stage) == (case.id, ReferralStage.CLOSED)
    for other in ("scjg_officer2", "scjg_liaison", "jw_officer", "admin"):
        with pytest.raises(NotFound):
            referrals.get_referral_status(county, user(county, other), case.id)
        assert referrals.list_reported_referrals(county, user(county, other)) == []
    assert reporter_reads(county, case.id) == 4
