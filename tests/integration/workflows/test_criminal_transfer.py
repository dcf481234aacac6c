"""criminal_transfer: every path of the model through the engine services.

Each step asserts the routing of the next task (lane, organization, role), and the tests
assert data, declared deadlines (computed by hand from DOMAIN.md), messages from the police
system and the linked discipline referral. The helpers at the top (Case, at, day_end,
assert_deadline) are shared with the reverse_transfer and discipline_referral tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import referrals
from engine.errors import NotFound
from engine.models import InstanceStatus
from engine.people import access
from engine.settings import Settings
from tests.integration.workflows.support import Case
from tests.integration.workflows.support import Route
from tests.integration.workflows.support import assert_case_clock
from tests.integration.workflows.support import assert_deadline
from tests.integration.workflows.support import at
from tests.integration.workflows.support import case_clock
from tests.integration.workflows.support import children
from tests.integration.workflows.support import data_of
from tests.integration.workflows.support import day_end
from tests.integration.workflows.support import open_tasks
from tests.integration.workflows.support import user

# ---------------------------------------------------------------- criminal_transfer routing

ROUTES: dict[str, Route] = {
    "agency_officer": ("YJS-SCJG", "officer", "scjg_officer1"),
    "agency_legal_reviewer": ("YJS-SCJG", "legal_reviewer", "scjg_legal"),
    "agency_head": ("YJS-SCJG", "head", "scjg_head"),
    "police_officer": ("YJS-GA", "officer", "ga_officer"),
    "police_head": ("YJS-GA", "head", "ga_head"),
    "procuratorate_officer": ("YJS-JCY", "officer", "jcy_officer"),
    "justice_coordinator": ("YJS-SFJ", "coordinator", "sfj_coordinator"),
}
LANE_TASKS = {
    "agency_officer": (
        "record_crime_suspicion",
        "notify_police_urgently",
        "preserve_evidence",
        "decide_registered_preservation",
        "review_seizure_term",
        "review_extended_seizure_term",
        "form_case_team",
        "draft_transfer_report",
        "transfer_to_police",
        "supply_missing_materials",
        "record_forwarding_notice",
        "handle_not_police_matter",
        "hand_over_case",
        "decide_on_non_filing",
        "decide_after_reconsideration",
        "handle_administratively",
    ),
    "agency_legal_reviewer": ("internal_legal_review",),
    "agency_head": ("head_decision", "approve_seizure_extension"),
    "police_officer": (
        "police_receipt",
        "forward_to_competent_organ",
        "police_filing_decision",
        "decide_filing_economic_10d",
        "decide_filing_extended_30d",
        "decide_filing_extended_60d",
        "police_reconsideration",
        "police_explain_non_filing",
        "police_file_on_notice",
    ),
    "police_head": ("approve_extension_30d", "approve_extension_plus_30d"),
    "procuratorate_officer": (
        "register_transfer_copy",
        "review_filing_supervision_request",
        "assess_non_filing_reasons",
        "inform_agency_of_supervision_outcome",
    ),
    "justice_coordinator": ("justice_review_non_transfer",),
}
LANES = {task: lane for lane, tasks in LANE_TASKS.items() for task in tasks}

CASE_NO = "英市监罚〔2026〕12号"
CORRELATION = {"case_no": CASE_NO}
START = {
    "agency_org": "YJS-SCJG",
    "case_no": CASE_NO,
    "party_name": "英吉沙县某商贸有限公司",
    "party_credit_code": "91653123MA7XXXXX1A",
    "summary": "销售假冒注册商标的商品",
}


def start_case(session: Session, when: str, settings: Settings | None = None) -> Case:
    instance = instances.start_instance(
        session,
        process_id="criminal_transfer",
        data=START,
        user=user(session, "scjg_officer1"),
        settings=settings,
        now=at(when),
    )
    return Case(session, instance.id, lanes=LANES, routes=ROUTES, settings=settings)


# ---------------------------------------------------------------- form data


def suspicion(*, officials: bool = False, urgent: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_no": CASE_NO,
        "party_name": START["party_name"],
        "party_credit_code": START["party_credit_code"],
        "suspected_offence": "销售假冒注册商标的商品罪",
        "amount_involved": 80000,
        "threshold_article": "立案追诉标准（二）第六十九条",
        "is_ip_case": True,
        "reasonable_suspicion_basis": "销售金额已达5万元以上",
        "facts_summary": "查获假冒运动鞋300双",
        "urgent": urgent,
        "officials_involved": officials,
    }
    if urgent:
        data["urgent_reason"] = "当事人有外逃迹象"
    return data


def evidence(*, preserved_at: str | None = None, seized_at: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "items": [{"item": "假冒运动鞋", "quantity": "300双", "storage_location": "局仓库"}],
        "sent_for_testing": False,
        "preservation_registered": preserved_at is not None,
        "seizure_applied": seized_at is not None,
    }
    if preserved_at:
        data["preservation_registered_at"] = preserved_at
    if seized_at:
        data.update(seizure_decision_no="英市监扣〔2026〕3号", seizure_decided_at=seized_at)
    return data


TEAM = {
    "enforcement_field": "market_regulation",
    "case_team": ["scjg_officer1", "scjg_officer2"],
    "team_leader": "scjg_officer1",
}
URGENT_NOTICE = {
    "police_org": "YJS-GA",
    "notified_person": "刑侦大队李某",
    "notice_channel": "phone",
    "urgent_risk": "flight",
    "urgent_notice_content": "当事人可能外逃",
}
TRANSFER = {
    "transfer_letter_no": "英市监移〔2026〕1号",
    "police_org": "YJS-GA",
    "procuratorate_org": "YJS-JCY",
    "suspected_offence": "销售假冒注册商标的商品罪",
    "attachments": ["transfer_letter", "investigation_report", "items_list"],
    "copy_to_procuratorate": True,
    "penalty_already_decided": False,
    "property_moved_with_case": True,
    "contact_person": "王某",
    "contact_phone": "0998-1234567",
}
COPY = {"copy_register_no": "JCY-2026-01"}
HANDOVER = {
    "handover_items": "假冒运动鞋300双及案卷",
    "police_signatory": "刘某",
    "fine_deferred": True,
}


def report(*, review: bool = False) -> dict[str, Any]:
    return {
        "report_no": "BG-001",
        "facts_found": "销售假冒商品",
        "evidence_list": "询问笔录、扣押清单",
        "amount_involved": 80000,
        "threshold_article": "第六十九条",
        "threshold_analysis": "已达标准",
        "transfer_opinion": "建议移送",
        "prepared_attachments": ["transfer_letter", "investigation_report", "items_list"],
        "needs_legal_review": review,
    }


def head(decision: str) -> dict[str, Any]:
    data = {"transfer_decision": decision}
    if decision == "not_approve":
        data["not_approved_reasons"] = "证据尚不充分"
    return data


def receipt(outcome: str) -> dict[str, Any]:
    extra = {
        "materials_incomplete": {"missing_materials": "鉴定意见"},
        "wrong_jurisdiction": {"competent_organ": "喀什市公安局"},
        "not_police_matter": {
            "not_police_matter_reasons": "属于海关职责",
            "suggested_authority": "喀什海关",
        },
    }
    return {"receipt_outcome": outcome, "receipt_signed_by": "刘某", **extra.get(outcome, {})}


def receipt_message(outcome: str, received_at: str, **extra: str) -> dict[str, Any]:
    return {
        "receipt_outcome": outcome,
        "receipt_signed_by": "刘某",
        "police_receipt_at": received_at,
        **extra,
    }


def filing(decision: str) -> dict[str, Any]:
    data = {"filing_decision": decision}
    if decision in ("file", "not_file"):
        data["filing_notice_no"] = "英公立〔2026〕9号"
    if decision == "not_file":
        data.update(non_filing_reasons="情节显著轻微", returned_materials="全部案卷")
    if decision.startswith(("extend", "request")):
        data["extension_reason"] = "案情复杂"
    return data


def filing_message(decision: str, decided_at: str, served_at: str) -> dict[str, Any]:
    data = {
        "filing_decision": decision,
        "filing_notice_no": "英公立〔2026〕9号",
        "filing_decided_at": decided_at,
        "filing_notice_served_at": served_at,
    }
    if decision == "not_file":
        data["non_filing_reasons"] = "不构成犯罪"
    return data


def extension(key: str, decision: str) -> dict[str, Any]:
    data = {f"{key}_decision": decision, f"{key}_reasons": "案情重大复杂"}
    if decision == "approve":
        data[f"{key}_approval_no"] = "英公批〔2026〕2号"
        if key == "extension_plus_30d":
            data["extension_plus_30d_approving_organ"] = "KS-GA"
    return data


def non_filing(response: str) -> dict[str, Any]:
    data = {"non_filing_response": response}
    if response != "accept":
        data["disagreement_reasons"] = "销售金额已达追诉标准"
    return data


def reconsideration(decision: str) -> dict[str, Any]:
    return {
        "reconsideration_decision": decision,
        "reconsideration_decision_no": "英公复〔2026〕1号",
        "reconsideration_reasons": "复议意见",
    }


def supervision(action: str) -> dict[str, Any]:
    data = {"supervision_action": action, "supervision_review_reasons": "审查意见"}
    if action == "require_explanation":
        data["explanation_notice_no"] = "英检说〔2026〕1号"
    return data


def assessment(result: str) -> dict[str, Any]:
    data = {"reasons_assessment": result, "assessment_reasons": "审查意见"}
    if result == "notify_filing":
        data["notice_to_file_no"] = "英检通〔2026〕1号"
    return data


def outcome(result: str) -> dict[str, Any]:
    return {"supervision_outcome": result, "supervision_outcome_note": "监督结果"}


def administrative(result: str) -> dict[str, Any]:
    extra = {
        "penalty": {"penalty_decision_no": "英市监罚〔2026〕15号"},
        "no_penalty": {"no_penalty_reasons": "首违轻微"},
        "other_disposal": {"outcome_note": "移送其他机关"},
    }
    return {"administrative_outcome": result, **extra[result]}


# ---------------------------------------------------------------- shared stretches of the paths


def run_base(session: Session, settings: Settings | None = None) -> Case:
    """BASE: suspicion recorded Wed 2026-03-11, report Thu 03-12, approval Fri 03-13 15:47,
    transfer Fri 03-13 17:00; ends with the copy registered and the police receipt open."""
    case = start_case(session, "2026-03-11T08:30:00+08:00", settings)
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    case.do("preserve_evidence", evidence(), "2026-03-11T09:30:00+08:00")
    case.do("form_case_team", TEAM, "2026-03-11T10:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    case.do("head_decision", head("approve"), "2026-03-13T15:47:00+08:00")
    case.do("transfer_to_police", TRANSFER, "2026-03-13T17:00:00+08:00")
    assert case.open_ids() == ["police_receipt", "register_transfer_copy"]
    case.do("register_transfer_copy", COPY, "2026-03-14T10:00:00+08:00")
    return case


def accept_at_receipt(case: Case) -> None:
    """The police sign the receipt on Mon 2026-03-16 09:00 in this system."""
    case.do("police_receipt", receipt("accepted"), "2026-03-16T09:00:00+08:00")


def not_filed_at_3d(case: Case) -> None:
    """Police decide not to file on Wed 03-18 10:00; the agency must answer by Sat 03-21,
    rolled past the weekend (03-22 is also 肉孜节) to Mon 03-23."""
    accept_at_receipt(case)
    case.do("police_filing_decision", filing("not_file"), "2026-03-18T10:00:00+08:00")
    assert_deadline(
        case.expect("decide_on_non_filing"),
        start="2026-03-18T10:00:00+08:00",
        due=day_end("2026-03-23"),
        unit="cd",
        deadline_id="A1-T7",
        skipped=["2026-03-21", "2026-03-22"],
    )


def handed_over(case: Case, served_at: str, due_day: str, when: str) -> None:
    """Hand-over within 3 days of the filing notice, then the instance is complete."""
    assert_deadline(
        case.expect("hand_over_case"),
        start=served_at,
        due=day_end(due_day),
        unit="cd",
        deadline_id="A1-T6",
    )
    case.do("hand_over_case", HANDOVER, when)
    assert case.open_ids() == []
    assert case.status() == InstanceStatus.COMPLETED


def handled_administratively(case: Case, result: str, when: str) -> None:
    """Back on the administrative track: the last task, then the instance is complete."""
    assert case.data()["case_track"] == "administrative"
    case.do("handle_administratively", administrative(result), when)
    assert case.data()["administrative_outcome"] == result
    assert case.status() == InstanceStatus.COMPLETED


# ---------------------------------------------------------------- paths


def test_base_path_files_the_case_with_every_deadline_declared(county: Session) -> None:
    """p01: BASE → receipt accepted → police file → hand-over."""
    case = start_case(county, "2026-03-11T08:30:00+08:00")
    assert case.open_ids() == ["record_crime_suspicion"]
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    assert case.data()["suspicion_recorded_at"] == "2026-03-11T09:00:00+08:00"
    assert children(county, case.id) == []
    case.do("preserve_evidence", evidence(), "2026-03-11T09:30:00+08:00")
    assert case.open_ids() == ["form_case_team"]
    assert_deadline(
        case.expect("form_case_team"),
        start="2026-03-11T09:30:00+08:00",
        due=day_end("2026-03-12"),
        unit="wd",
        deadline_id="A1-T1",
    )
    case.do("form_case_team", TEAM, "2026-03-11T10:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    # A1-T2: 3 days from the report (Thu 03-12): Sun 03-15 rolls to Mon 03-16.
    assert_deadline(
        case.expect("head_decision"),
        start="2026-03-12T10:00:00+08:00",
        due=day_end("2026-03-16"),
        unit="cd",
        deadline_id="A1-T2",
        skipped=["2026-03-15"],
    )
    case.do("head_decision", head("approve"), "2026-03-13T15:47:30+08:00")
    assert case.data()["head_decision_at"] == "2026-03-13T15:47:00+08:00"
    # A1-T3: 24 hours from the head's decision stamp, never moved for the weekend.
    assert_deadline(
        case.expect("transfer_to_police"),
        start="2026-03-13T15:47:00+08:00",
        due="2026-03-14T15:47:00+08:00",
        unit="h",
        deadline_id="A1-T3",
    )
    case.do("transfer_to_police", TRANSFER, "2026-03-13T17:00:00+08:00")
    assert case.open_ids() == ["police_receipt", "register_transfer_copy"]
    assert case.data()["transferred_at"] == "2026-03-13T17:00:00+08:00"
    clock = case_clock(county, case.id)
    assert clock["started_at"] == "2026-03-11T01:00:00+00:00"
    assert clock["pauses"] == [["2026-03-13T09:00:00+00:00", None]]
    assert_deadline(
        case.expect("police_receipt"),
        start="2026-03-13T17:00:00+08:00",
        due="2026-03-14T17:00:00+08:00",
        unit="h",
        deadline_id=None,
    )
    case.do("register_transfer_copy", COPY, "2026-03-14T10:00:00+08:00")
    case.do("police_receipt", receipt("accepted"), "2026-03-16T09:00:00+08:00")
    # A1-T5: 3 days from the receipt stamp (Mon 03-16).
    assert_deadline(
        case.expect("police_filing_decision"),
        start="2026-03-16T09:00:00+08:00",
        due=day_end("2026-03-19"),
        unit="cd",
        deadline_id="A1-T5",
    )
    case.do("police_filing_decision", filing("file"), "2026-03-18T11:00:00+08:00")
    assert case.data()["filing_decision"] == "file"
    # A1-T6: 3 days from Wed 03-18 is Sat 03-21; Sun 03-22 (肉孜节) too: Mon 03-23.
    task = case.expect("hand_over_case")
    assert [item["date"] for item in (task.deadline or {})["skipped"]] == [
        "2026-03-21",
        "2026-03-22",
    ]
    handed_over(case, "2026-03-18T11:00:00+08:00", "2026-03-23", "2026-03-19T10:00:00+08:00")


def test_three_day_rules_count_working_days_when_the_county_says_so(county: Session) -> None:
    """DOMAIN T6: with transfer_rule_3d_mode=wd the 310号 3-day rules count working days."""
    settings = Settings(transfer_rule_3d_mode="wd")
    case = start_case(county, "2026-03-11T08:30:00+08:00", settings)
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    case.do("preserve_evidence", evidence(), "2026-03-11T09:30:00+08:00")
    case.do("form_case_team", TEAM, "2026-03-11T10:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    # Thu 03-12 + 3 working days: Fri 03-13, Mon 03-16, Tue 03-17.
    assert_deadline(
        case.expect("head_decision"),
        start="2026-03-12T10:00:00+08:00",
        due=day_end("2026-03-17"),
        unit="wd",
        deadline_id="A1-T2",
        skipped=["2026-03-14", "2026-03-15"],
    )
    case.do("head_decision", head("approve"), "2026-03-13T15:47:00+08:00")
    assert case.expect("transfer_to_police").deadline["unit"] == "h"  # type: ignore[index]
    case.do("transfer_to_police", TRANSFER, "2026-03-13T17:00:00+08:00")
    case.do("register_transfer_copy", COPY, "2026-03-14T10:00:00+08:00")
    case.do("police_receipt", receipt("accepted"), "2026-03-16T09:00:00+08:00")
    case.do("police_filing_decision", filing("file"), "2026-03-18T11:00:00+08:00")
    # Wed 03-18 + 3 working days: Thu 03-19, (肉孜节 Fri 03-20, weekend) Mon 03-23, Tue 03-24.
    assert_deadline(
        case.expect("hand_over_case"),
        start="2026-03-18T11:00:00+08:00",
        due=day_end("2026-03-24"),
        unit="wd",
        deadline_id="A1-T6",
    )


def test_every_detour_before_filing_and_supervision_ends_in_hand_over(county: Session) -> None:
    """p02: officials and urgency, evidence terms, legal review, justice review, incomplete
    materials, every extension of the filing review, reconsideration and supervision."""
    case = start_case(county, "2026-03-16T08:30:00+08:00")
    early_detours(county, case)
    report_with_review_and_justice_order(case)
    receipt_after_missing_materials(case)
    filing_review_extended_twice(case)
    supervision_orders_filing(case)
    handed_over(case, "2026-04-29T10:00:00+08:00", "2026-05-06", "2026-05-06T09:00:00+08:00")


def early_detours(session: Session, case: Case) -> None:
    case.do(
        "record_crime_suspicion",
        suspicion(officials=True, urgent=True),
        "2026-03-16T09:00:00+08:00",
    )
    [referral] = children(session, case.id)
    assert (referral.process_id, referral.parent_id, referral.confidential) == (
        "discipline_referral",
        case.id,
        True,
    )
    # No official's name, unit, post or conduct reaches the ordinary case or the referral's
    # start: the liaison registers them in the confidential referral (register_clue).
    assert data_of(session, referral.id) == {
        "agency_org": "YJS-SCJG",
        "case_no": CASE_NO,
        "clue_source": "criminal_transfer",
        "party_name": START["party_name"],
        "discovered_at": "2026-03-16T09:00:00+08:00",
    }
    assert access.can_view_instance(session, user(session, "scjg_liaison"), referral)
    assert not access.can_view_instance(session, user(session, "ga_officer"), referral)
    # The officer who recorded the clue reports it: status page, not the referral itself.
    finder = user(session, "scjg_officer1")
    assert referral.started_by_id == finder.id
    assert not access.can_view_instance(session, finder, referral)
    assert referrals.is_reporter(finder, referral)
    [register] = open_tasks(session, referral.id)
    assert (register.bpmn_id, register.org_code, register.role) == (
        "register_clue",
        "YJS-SCJG",
        "discipline_liaison",
    )
    assert case.data()["discipline_referral"] == {
        "instance_id": referral.id,
        "process_id": "discipline_referral",
        "started_at": "2026-03-16T01:00:00+00:00",
    }
    assert not {"official_person_name", "person_name", "person_unit"} & set(case.data())
    assert_deadline(
        case.expect("notify_police_urgently"),
        start="2026-03-16T09:00:00+08:00",
        due=day_end("2026-03-17"),
        unit="wd",
        deadline_id="A1-T1",
    )
    case.do("notify_police_urgently", URGENT_NOTICE, "2026-03-16T09:30:00+08:00")
    assert case.data()["urgent_notice_at"] == "2026-03-16T09:30:00+08:00"
    registered = "2026-03-16T10:00:00+08:00"
    case.do(
        "preserve_evidence",
        evidence(preserved_at=registered, seized_at=registered),
        "2026-03-16T11:00:00+08:00",
    )
    assert case.open_ids() == [
        "decide_registered_preservation",
        "form_case_team",
        "review_seizure_term",
    ]
    # A1-T12: 7 working days after Mon 03-16, skipping 肉孜节 (03-20..22): Thu 03-26.
    assert_deadline(
        case.expect("decide_registered_preservation"),
        start=registered,
        due=day_end("2026-03-26"),
        unit="wd",
        deadline_id="A1-T12",
    )
    case.do(
        "decide_registered_preservation",
        {
            "preservation_measure": "transfer_with_case",
            "preservation_decision_no": "英市监保〔2026〕1号",
        },
        "2026-03-16T14:00:00+08:00",
    )
    seizure_extended_after_refusal(case, registered)


def seizure_extended_after_refusal(case: Case, seized_at: str) -> None:
    """A1-T13: 30 days from the seizure decision; refused extension, then approved: 60 days."""
    request = {
        "seizure_action": "request_extension",
        "seizure_extension_reason": "鉴定未完成",
        "party_notified_in_writing": True,
    }
    term = case.expect("review_seizure_term")
    assert_deadline(
        term, start=seized_at, due=day_end("2026-04-15"), unit="cd", deadline_id="A1-T13"
    )
    case.do("review_seizure_term", request, "2026-04-10T10:00:00+08:00")
    refusal = {"seizure_extension_decision": "reject", "seizure_extension_reasons": "理由不足"}
    case.do("approve_seizure_extension", refusal, "2026-04-10T15:00:00+08:00")
    again = case.expect("review_seizure_term")
    assert again.id != term.id
    assert again.due_at == at(day_end("2026-04-15"))
    case.do("review_seizure_term", request, "2026-04-13T10:00:00+08:00")
    case.do(
        "approve_seizure_extension",
        {"seizure_extension_decision": "approve"},
        "2026-04-13T15:00:00+08:00",
    )
    assert case.data()["seizure_extension_decision"] == "approve"
    assert_deadline(
        case.expect("review_extended_seizure_term"),
        start=seized_at,
        due=day_end("2026-05-15"),
        unit="cd",
        deadline_id="A1-T13",
    )
    final = {"seizure_final_action": "transfer_with_case", "party_notified_in_writing": True}
    case.do("review_extended_seizure_term", final, "2026-05-14T10:00:00+08:00")
    assert "review_extended_seizure_term" not in case.open_ids()


def report_with_review_and_justice_order(case: Case) -> None:
    case.do("form_case_team", TEAM, "2026-03-16T15:00:00+08:00")
    assert case.data()["case_team"] == ["scjg_officer1", "scjg_officer2"]
    case.do("draft_transfer_report", report(review=True), "2026-03-16T16:00:00+08:00")
    revise = {"legal_review_opinion": "revise", "legal_review_comments": "补充鉴定意见"}
    case.do("internal_legal_review", revise, "2026-03-16T17:00:00+08:00")
    case.do("draft_transfer_report", report(review=True), "2026-03-17T10:00:00+08:00")
    case.do("internal_legal_review", {"legal_review_opinion": "agree"}, "2026-03-17T11:00:00+08:00")
    # A1-T2 from the resubmitted report (Tue 03-17): Fri 03-20 is 肉孜节, so Mon 03-23.
    decision = case.expect("head_decision")
    assert_deadline(
        decision,
        start="2026-03-17T10:00:00+08:00",
        due=day_end("2026-03-23"),
        unit="cd",
        deadline_id="A1-T2",
        skipped=["2026-03-20", "2026-03-21", "2026-03-22"],
    )
    case.do("head_decision", head("not_approve"), "2026-03-18T09:00:00+08:00")
    assert case.data()["not_approved_reasons"] == "证据尚不充分"
    # Justice bureau review: 5 working days from when it became ready (Wed 03-18).
    assert_deadline(
        case.expect("justice_review_non_transfer"),
        start="2026-03-18T09:00:00+08:00",
        due=day_end("2026-03-26"),
        unit="wd",
        deadline_id=None,
    )
    order = {
        "review_opinion": "order_transfer",
        "review_reasons": "已达追诉标准",
        "supervision_opinion_no": "英司监〔2026〕1号",
    }
    case.do("justice_review_non_transfer", order, "2026-03-19T10:00:00+08:00")
    again = case.expect("head_decision")
    assert again.id != decision.id
    assert again.due_at == at(day_end("2026-03-23"))
    case.do("head_decision", head("approve"), "2026-03-19T16:20:00+08:00")
    assert_deadline(
        case.expect("transfer_to_police"),
        start="2026-03-19T16:20:00+08:00",
        due="2026-03-20T16:20:00+08:00",
        unit="h",
        deadline_id="A1-T3",
    )
    case.do("transfer_to_police", TRANSFER, "2026-03-20T10:00:00+08:00")
    case.do("register_transfer_copy", COPY, "2026-03-20T11:00:00+08:00")


def receipt_after_missing_materials(case: Case) -> None:
    case.do("police_receipt", receipt("materials_incomplete"), "2026-03-20T15:00:00+08:00")
    assert case.data()["missing_materials"] == "鉴定意见"
    assert_deadline(
        case.expect("supply_missing_materials"),
        start="2026-03-20T15:00:00+08:00",
        due=day_end("2026-03-23"),
        unit="cd",
        deadline_id="A1-T4",
    )
    case.do(
        "supply_missing_materials",
        {"supplied_materials": "鉴定意见书"},
        "2026-03-23T09:00:00+08:00",
    )
    assert case.expect("police_receipt").due_at == at("2026-03-21T10:00:00+08:00")
    case.do("police_receipt", receipt("accepted"), "2026-03-23T10:00:00+08:00")
    assert case.data()["police_receipt_at"] == "2026-03-23T10:00:00+08:00"


def filing_review_extended_twice(case: Case) -> None:
    """A1-T5 from the receipt (Mon 03-23): 3, 10, 30 then 60 days; a refused extension goes
    back to the stage it came from with its deadline unchanged."""
    received = "2026-03-23T10:00:00+08:00"
    assert_a1_t5(case, "police_filing_decision", received, "2026-03-26")
    case.do("police_filing_decision", filing("extend_economic_10d"), "2026-03-23T11:00:00+08:00")
    assert_a1_t5(case, "decide_filing_economic_10d", received, "2026-04-02")
    extend_after_refusal(
        case, "decide_filing_economic_10d", "approve_extension_30d", "extension_30d"
    )
    assert_a1_t5(case, "decide_filing_extended_30d", received, "2026-04-22")
    extend_after_refusal(
        case, "decide_filing_extended_30d", "approve_extension_plus_30d", "extension_plus_30d"
    )
    assert_a1_t5(case, "decide_filing_extended_60d", received, "2026-05-22")
    assert case.data()["extension_plus_30d_approving_organ"] == "KS-GA"
    case.do("decide_filing_extended_60d", filing("not_file"), "2026-04-20T10:00:00+08:00")


def assert_a1_t5(case: Case, bpmn_id: str, received: str, due_day: str) -> None:
    assert_deadline(
        case.expect(bpmn_id), start=received, due=day_end(due_day), unit="cd", deadline_id="A1-T5"
    )


def extend_after_refusal(case: Case, task: str, approval: str, key: str) -> None:
    request = filing("request_" + key)
    due = case.expect(task).due_at
    case.do(task, request, "2026-03-24T10:00:00+08:00")
    case.do(approval, extension(key, "reject"), "2026-03-24T11:00:00+08:00")
    assert case.data()[f"{key}_decision"] == "reject"
    assert case.expect(task).due_at == due
    case.do(task, request, "2026-03-25T10:00:00+08:00")
    case.do(approval, extension(key, "approve"), "2026-03-25T11:00:00+08:00")


def supervision_orders_filing(case: Case) -> None:
    """Not filed (Mon 04-20) → reconsideration upheld → supervision → explanation → notice to
    file → filed on notice (Wed 04-29)."""
    assert_deadline(
        case.expect("decide_on_non_filing"),
        start="2026-04-20T10:00:00+08:00",
        due=day_end("2026-04-23"),
        unit="cd",
        deadline_id="A1-T7",
    )
    case.do(
        "decide_on_non_filing", non_filing("request_reconsideration"), "2026-04-21T09:00:00+08:00"
    )
    assert_deadline(
        case.expect("police_reconsideration"),
        start="2026-04-21T09:00:00+08:00",
        due=day_end("2026-04-24"),
        unit="cd",
        deadline_id="A1-T8",
    )
    case.do("police_reconsideration", reconsideration("uphold"), "2026-04-22T10:00:00+08:00")
    # A1-T9: Sat 04-25 rolls to Mon 04-27.
    assert_deadline(
        case.expect("decide_after_reconsideration"),
        start="2026-04-22T10:00:00+08:00",
        due=day_end("2026-04-27"),
        unit="cd",
        deadline_id="A1-T9",
        skipped=["2026-04-25", "2026-04-26"],
    )
    grounds = {
        "after_reconsideration_response": "request_filing_supervision",
        "supervision_grounds": "已达标准",
    }
    case.do("decide_after_reconsideration", grounds, "2026-04-23T10:00:00+08:00")
    case.do(
        "review_filing_supervision_request",
        supervision("require_explanation"),
        "2026-04-24T10:00:00+08:00",
    )
    # A1-T10: 7 days from Fri 04-24 is Fri 05-01 (Labour Day, holidays to Tue 05-05): Wed 05-06.
    assert_deadline(
        case.expect("police_explain_non_filing"),
        start="2026-04-24T10:00:00+08:00",
        due=day_end("2026-05-06"),
        unit="cd",
        deadline_id="A1-T10",
        skipped=["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05"],
    )
    case.do(
        "police_explain_non_filing",
        {"non_filing_explanation": "情节轻微"},
        "2026-04-27T10:00:00+08:00",
    )
    case.do("assess_non_filing_reasons", assessment("notify_filing"), "2026-04-28T10:00:00+08:00")
    assert_deadline(
        case.expect("police_file_on_notice"),
        start="2026-04-28T10:00:00+08:00",
        due=day_end("2026-05-13"),
        unit="cd",
        deadline_id="A1-T11",
    )
    filed = {"filing_decision_no": "英公立〔2026〕12号", "filing_copy_sent_to_procuratorate": True}
    case.do("police_file_on_notice", filed, "2026-04-29T10:00:00+08:00")
    case.do(
        "inform_agency_of_supervision_outcome", outcome("case_filed"), "2026-04-30T10:00:00+08:00"
    )
    assert case.data()["supervision_outcome"] == "case_filed"


def test_head_refusal_upheld_by_the_justice_bureau_goes_back_to_administrative_handling(
    county: Session,
) -> None:
    """p03: head does not approve → justice bureau has no objection → administrative track."""
    case = start_case(county, "2026-03-11T08:30:00+08:00")
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    case.do("preserve_evidence", evidence(), "2026-03-11T09:30:00+08:00")
    case.do("form_case_team", TEAM, "2026-03-11T10:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    case.do("head_decision", head("not_approve"), "2026-03-13T10:00:00+08:00")
    no_objection = {"review_opinion": "no_objection", "review_reasons": "理由成立"}
    case.do("justice_review_non_transfer", no_objection, "2026-03-16T10:00:00+08:00")
    assert case.data()["review_opinion"] == "no_objection"
    assert "case_track" not in case.data()
    # The 90-day clock ran from the suspicion record (Wed 03-11) without a pause: Tue 06-09.
    assert_case_clock(
        case.expect("handle_administratively"),
        start="2026-03-11T09:00:00+08:00",
        due=day_end("2026-06-09"),
    )
    case.do("handle_administratively", administrative("no_penalty"), "2026-03-17T10:00:00+08:00")
    assert case_clock(county, case.id)["stopped_at"] == "2026-03-17T02:00:00+00:00"
    assert case.status() == InstanceStatus.COMPLETED


def test_police_system_forwards_a_case_outside_its_jurisdiction(county: Session) -> None:
    """p04: receipt by message (wrong jurisdiction) → forwarding within 24 h → notice recorded."""
    case = run_base(county)
    payload = receipt_message(
        "wrong_jurisdiction", "2026-03-16T09:00:00+08:00", competent_organ="喀什市公安局"
    )
    case.message("police_receipt", CORRELATION, payload, "2026-03-16T09:05:00+08:00")
    data = case.data()
    assert (data["receipt_outcome"], data["competent_organ"]) == (
        "wrong_jurisdiction",
        "喀什市公安局",
    )
    assert data["police_receipt_at"] == "2026-03-16T09:00:00+08:00"
    assert_deadline(
        case.expect("forward_to_competent_organ"),
        start="2026-03-16T09:00:00+08:00",
        due="2026-03-17T09:00:00+08:00",
        unit="h",
        deadline_id=None,
    )
    forward = {"competent_organ": "喀什市公安局", "forwarding_notice_no": "英公转〔2026〕1号"}
    case.do("forward_to_competent_organ", forward, "2026-03-16T15:00:00+08:00")
    notice = {
        "forwarding_notice_received_at": "2026-03-16T16:00:00+08:00",
        "follow_up_contact": "赵某",
    }
    case.do("record_forwarding_notice", notice, "2026-03-16T16:30:00+08:00")
    assert case.status() == InstanceStatus.COMPLETED


def test_not_a_police_matter_is_transferred_to_another_authority(county: Session) -> None:
    """p05: receipt in this system: not a police matter → transferred to another authority."""
    case = run_base(county)
    case.do("police_receipt", receipt("not_police_matter"), "2026-03-16T09:00:00+08:00")
    assert case.data()["suggested_authority"] == "喀什海关"
    other = {
        "not_police_next_step": "transfer_other_authority",
        "other_authority": "喀什海关",
        "other_transfer_letter_no": "英市监移〔2026〕2号",
    }
    case.do("handle_not_police_matter", other, "2026-03-17T10:00:00+08:00")
    assert case.open_ids() == []
    assert case.status() == InstanceStatus.COMPLETED


def test_not_a_police_matter_by_message_returns_to_the_administrative_track(
    county: Session,
) -> None:
    """p06: receipt by message: not a police matter → handled administratively."""
    case = run_base(county)
    payload = receipt_message(
        "not_police_matter", "2026-03-16T09:00:00+08:00", not_police_matter_reasons="属于海关职责"
    )
    case.message("police_receipt", CORRELATION, payload, "2026-03-16T09:05:00+08:00")
    assert case.data()["not_police_matter_reasons"] == "属于海关职责"
    case.do(
        "handle_not_police_matter",
        {"not_police_next_step": "handle_administratively"},
        "2026-03-17T10:00:00+08:00",
    )
    handled_administratively(case, "other_disposal", "2026-03-18T10:00:00+08:00")


def test_not_filed_by_message_and_accepted_by_the_agency(county: Session) -> None:
    """p07: receipt and filing decision both by message; the agency accepts the non-filing."""
    case = run_base(county)
    early = filing_message("file", "2026-03-16T08:00:00+08:00", "2026-03-16T08:00:00+08:00")
    with pytest.raises(NotFound):
        case.message("police_filing_decision", CORRELATION, early, "2026-03-16T08:00:00+08:00")
    case.message(
        "police_receipt",
        CORRELATION,
        receipt_message("accepted", "2026-03-16T09:00:00+08:00"),
        "2026-03-16T09:05:00+08:00",
    )
    assert_deadline(
        case.expect("police_filing_decision"),
        start="2026-03-16T09:00:00+08:00",
        due=day_end("2026-03-19"),
        unit="cd",
        deadline_id="A1-T5",
    )
    payload = filing_message("not_file", "2026-03-18T10:00:00+08:00", "2026-03-18T10:05:00+08:00")
    case.message("police_filing_decision", CORRELATION, payload, "2026-03-18T10:10:00+08:00")
    data = case.data()
    assert (data["filing_decision"], data["non_filing_reasons"]) == ("not_file", "不构成犯罪")
    assert_deadline(
        case.expect("decide_on_non_filing"),
        start="2026-03-18T10:05:00+08:00",
        due=day_end("2026-03-23"),
        unit="cd",
        deadline_id="A1-T7",
    )
    case.do("decide_on_non_filing", non_filing("accept"), "2026-03-19T10:00:00+08:00")
    assert case_clock(county, case.id)["pauses"] == [
        ["2026-03-13T09:00:00+00:00", "2026-03-19T02:00:00+00:00"]
    ]
    # 90 days from Wed 03-11 plus the 6 days entered while with the police: Mon 06-15.
    assert_case_clock(
        case.expect("handle_administratively"),
        start="2026-03-11T09:00:00+08:00",
        due=day_end("2026-06-15"),
    )
    handled_administratively(case, "penalty", "2026-03-20T10:00:00+08:00")


def test_reconsideration_files_the_case(county: Session) -> None:
    """p08: not filed → reconsideration → the police file the case → hand-over."""
    case = run_base(county)
    not_filed_at_3d(case)
    case.do(
        "decide_on_non_filing", non_filing("request_reconsideration"), "2026-03-19T09:00:00+08:00"
    )
    case.do("police_reconsideration", reconsideration("file"), "2026-03-19T15:00:00+08:00")
    handed_over(case, "2026-03-19T15:00:00+08:00", "2026-03-23", "2026-03-23T10:00:00+08:00")


def test_procuratorate_declines_supervision(county: Session) -> None:
    """p09: not filed → supervision requested → no supervision → administrative track."""
    case = run_base(county)
    not_filed_at_3d(case)
    case.do(
        "decide_on_non_filing",
        non_filing("request_filing_supervision"),
        "2026-03-19T09:00:00+08:00",
    )
    case.do(
        "review_filing_supervision_request",
        supervision("no_supervision"),
        "2026-03-23T10:00:00+08:00",
    )
    case.do(
        "inform_agency_of_supervision_outcome", outcome("not_filed"), "2026-03-23T11:00:00+08:00"
    )
    handled_administratively(case, "penalty", "2026-03-24T10:00:00+08:00")


def test_agency_accepts_the_upheld_reconsideration(county: Session) -> None:
    """p10: not filed → reconsideration upheld → the agency accepts → administrative track."""
    case = run_base(county)
    not_filed_at_3d(case)
    case.do(
        "decide_on_non_filing", non_filing("request_reconsideration"), "2026-03-19T09:00:00+08:00"
    )
    case.do("police_reconsideration", reconsideration("uphold"), "2026-03-19T15:00:00+08:00")
    case.do(
        "decide_after_reconsideration",
        {"after_reconsideration_response": "accept"},
        "2026-03-23T09:00:00+08:00",
    )
    handled_administratively(case, "penalty", "2026-03-24T10:00:00+08:00")


def test_police_reasons_for_not_filing_stand(county: Session) -> None:
    """p11: supervision → explanation → reasons stand → not filed → administrative track."""
    case = run_base(county)
    not_filed_at_3d(case)
    case.do(
        "decide_on_non_filing",
        non_filing("request_filing_supervision"),
        "2026-03-19T09:00:00+08:00",
    )
    case.do(
        "review_filing_supervision_request",
        supervision("require_explanation"),
        "2026-03-19T15:00:00+08:00",
    )
    case.do(
        "police_explain_non_filing",
        {"non_filing_explanation": "证据不足"},
        "2026-03-23T10:00:00+08:00",
    )
    case.do("assess_non_filing_reasons", assessment("reasons_stand"), "2026-03-24T10:00:00+08:00")
    assert case.open_ids() == ["inform_agency_of_supervision_outcome"]
    case.do(
        "inform_agency_of_supervision_outcome", outcome("not_filed"), "2026-03-24T11:00:00+08:00"
    )
    handled_administratively(case, "penalty", "2026-03-25T10:00:00+08:00")


def extended_to_10d(case: Case) -> None:
    accept_at_receipt(case)
    case.do("police_filing_decision", filing("extend_economic_10d"), "2026-03-16T10:00:00+08:00")
    assert case.data()["extension_reason"] == "案情复杂"


def extended_to_30d(case: Case) -> None:
    extended_to_10d(case)
    case.do(
        "decide_filing_economic_10d", filing("request_extension_30d"), "2026-03-23T10:00:00+08:00"
    )
    case.do(
        "approve_extension_30d", extension("extension_30d", "approve"), "2026-03-23T11:00:00+08:00"
    )


def test_economic_case_filed_within_10_days(county: Session) -> None:
    """p12: the 10-day stage decides in this system."""
    case = run_base(county)
    extended_to_10d(case)
    case.do("decide_filing_economic_10d", filing("file"), "2026-03-24T10:00:00+08:00")
    handed_over(case, "2026-03-24T10:00:00+08:00", "2026-03-27", "2026-03-25T10:00:00+08:00")


def test_economic_case_filed_by_message_at_the_10_day_stage(county: Session) -> None:
    """p13: the 10-day stage is answered by the police system."""
    case = run_base(county)
    extended_to_10d(case)
    payload = filing_message("file", "2026-03-24T10:00:00+08:00", "2026-03-24T10:30:00+08:00")
    case.message("police_filing_decision", CORRELATION, payload, "2026-03-24T10:35:00+08:00")
    handed_over(case, "2026-03-24T10:30:00+08:00", "2026-03-27", "2026-03-25T10:00:00+08:00")


def test_economic_case_filed_within_30_days(county: Session) -> None:
    """p14: the extended 30-day stage decides in this system."""
    case = run_base(county)
    extended_to_30d(case)
    case.do("decide_filing_extended_30d", filing("file"), "2026-04-08T10:00:00+08:00")
    handed_over(case, "2026-04-08T10:00:00+08:00", "2026-04-13", "2026-04-09T10:00:00+08:00")


def test_economic_case_filed_by_message_at_the_30_day_stage(county: Session) -> None:
    """p15: the extended 30-day stage is answered by the police system."""
    case = run_base(county)
    extended_to_30d(case)
    payload = filing_message("file", "2026-04-08T10:00:00+08:00", "2026-04-08T11:00:00+08:00")
    case.message("police_filing_decision", CORRELATION, payload, "2026-04-08T11:05:00+08:00")
    handed_over(case, "2026-04-08T11:00:00+08:00", "2026-04-13", "2026-04-09T10:00:00+08:00")


def test_economic_case_not_filed_by_message_at_the_60_day_stage(county: Session) -> None:
    """p16: the 60-day stage is answered by the police system; the agency accepts."""
    case = run_base(county)
    extended_to_30d(case)
    case.do(
        "decide_filing_extended_30d",
        filing("request_extension_plus_30d"),
        "2026-04-08T10:00:00+08:00",
    )
    case.do(
        "approve_extension_plus_30d",
        extension("extension_plus_30d", "approve"),
        "2026-04-08T11:00:00+08:00",
    )
    payload = filing_message("not_file", "2026-05-06T10:00:00+08:00", "2026-05-06T11:00:00+08:00")
    case.message("police_filing_decision", CORRELATION, payload, "2026-05-06T11:05:00+08:00")
    case.do("decide_on_non_filing", non_filing("accept"), "2026-05-07T10:00:00+08:00")
    handled_administratively(case, "penalty", "2026-05-08T10:00:00+08:00")


def test_seized_goods_released_without_extension(county: Session) -> None:
    """p17: seizure term concluded by release; the case goes on to filing."""
    case = start_case(county, "2026-03-11T08:30:00+08:00")
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    case.do(
        "preserve_evidence",
        evidence(seized_at="2026-03-10T16:00:00+08:00"),
        "2026-03-11T09:30:00+08:00",
    )
    assert case.open_ids() == ["form_case_team", "review_seizure_term"]
    # 30 days from Tue 03-10 is Thu 04-09.
    assert case.expect("review_seizure_term").due_at == at(day_end("2026-04-09"))
    release = {"seizure_action": "release", "party_notified_in_writing": True}
    case.do("review_seizure_term", release, "2026-03-11T11:00:00+08:00")
    assert case.open_ids() == ["form_case_team"]
    case.do("form_case_team", TEAM, "2026-03-11T12:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    case.do("head_decision", head("approve"), "2026-03-13T15:47:00+08:00")
    case.do("transfer_to_police", TRANSFER, "2026-03-13T17:00:00+08:00")
    case.do("register_transfer_copy", COPY, "2026-03-14T10:00:00+08:00")
    accept_at_receipt(case)
    case.do("police_filing_decision", filing("file"), "2026-03-18T11:00:00+08:00")
    handed_over(case, "2026-03-18T11:00:00+08:00", "2026-03-23", "2026-03-19T10:00:00+08:00")
