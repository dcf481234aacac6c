"""reverse_transfer: every path of the model through the engine services.

Variant a (procuratorial opinion) runs the written reply in parallel with the penalty case
and ends with the procuratorate's follow-up; variants b and c (police, court) verify, open
or decline the case and inform the sending organ. Each step asserts the next task's routing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.cases import instances
from engine.models import InstanceStatus
from tests.integration.workflows.support import Case
from tests.integration.workflows.support import Route
from tests.integration.workflows.support import assert_case_clock
from tests.integration.workflows.support import assert_deadline
from tests.integration.workflows.support import at
from tests.integration.workflows.support import case_clock
from tests.integration.workflows.support import day_end
from tests.integration.workflows.support import user

LANE_TASKS = {
    "agency_officer": (
        "register_procuratorial_opinion",
        "send_written_reply",
        "register_sent_back_case",
        "verify_sent_back_case",
        "verify_sent_back_case_extended",
        "open_penalty_case",
        "investigate_case",
        "notify_intended_penalty",
        "hold_hearing",
        "serve_decision",
        "send_final_result",
        "inform_sending_organ",
    ),
    "agency_legal_reviewer": ("legal_review",),
    "agency_head": ("approve_verification_extension", "decide_case", "reply_to_recommendation"),
    "procuratorate_officer": ("procuratorate_follow_up",),
}
LANES = {task: lane for lane, tasks in LANE_TASKS.items() for task in tasks}


def routes(prefix: str, org: str) -> dict[str, Route]:
    """The lanes of an agency with a full demo team (scjg, yj, wjw) and the procuratorate."""
    return {
        "agency_officer": (org, "officer", f"{prefix}_officer1"),
        "agency_legal_reviewer": (org, "legal_reviewer", f"{prefix}_legal"),
        "agency_head": (org, "head", f"{prefix}_head"),
        "procuratorate_officer": ("YJS-JCY", "officer", "jcy_officer"),
    }


OPINION_RECEIVED = "2026-03-04T11:00:00+08:00"
START_OPINION = {
    "agency_org": "YJS-SCJG",
    "source": "procuratorate",
    "opinion_no": "英检行意〔2026〕3号",
    "received_at": OPINION_RECEIVED,
    "person_name": "李某",
    "facts_summary": "销售伪劣产品，检察院酌定不起诉",
    "non_prosecution_decision_no": "英检刑不诉〔2026〕5号",
    "procuratorate_org": "YJS-JCY",
}
START_POLICE = {
    "agency_org": "YJS-YJ",
    "source": "police",
    "opinion_no": "英公移〔2026〕2号",
    "received_at": "2026-03-16T08:30:00+08:00",
    "person_name": "某化工有限公司",
    "facts_summary": "不构成犯罪，移送行政处理",
    "source_org": "YJS-GA",
}
START_COURT = {
    **START_POLICE,
    "source": "court",
    "opinion_no": "英法司建〔2026〕1号",
    "source_org": "YJS-FY",
}


def start_case(session: Session, data: dict[str, Any], prefix: str, when: str) -> Case:
    instance = instances.start_instance(
        session,
        process_id="reverse_transfer",
        data=data,
        user=user(session, f"{prefix}_officer1"),
        now=at(when),
    )
    return Case(session, instance.id, lanes=LANES, routes=routes(prefix, data["agency_org"]))


# ---------------------------------------------------------------- form data

REGISTER_OPINION = {
    "opinion_no": "英检行意〔2026〕3号",
    "received_at": OPINION_RECEIVED,
    "person_name": "李某",
    "non_prosecution_decision_no": "英检刑不诉〔2026〕5号",
    "non_prosecution_decision_date": "2026-02-27",
    "non_prosecution_type": "discretionary",
    "facts_found": "销售伪劣产品货值3万元",
    "suggested_legal_basis": "《产品质量法》第五十条",
    "register_no": "DJ-2026-001",
    "reply_period_months": 2,
}
REGISTER_SENT_BACK = {
    "sending_document_no": "英公移〔2026〕2号",
    "sending_org": "YJS-GA",
    "sent_back_reason": "no_crime",
    "register_no": "DJ-2026-002",
}
HEARING = {
    "hearing_notice_served_at": "2026-04-03T10:00:00+08:00",
    "hearing_held_at": "2026-04-13T10:00:00+08:00",
    "hearing_host": "法制科张某",
    "hearing_record_summary": "当事人对金额有异议",
}
INFORM = {"inform_letter_no": "英应急告〔2026〕1号", "inform_result": "已依法处理"}
SATISFIED = {"follow_up_conclusion": "satisfied", "follow_up_note": "已依法处理"}
RECOMMEND = {
    "follow_up_conclusion": "issue_recommendation",
    "follow_up_note": "处罚畸轻",
    "recommendation_no": "英检建〔2026〕1号",
    "recommendation_content": "依法重新处理",
}
REPLY_TO_RECOMMENDATION = {
    "rectification_measures": "已重新评查",
    "recommendation_reply_no": "英市监复〔2026〕3号",
}


def reply(kind: str) -> dict[str, Any]:
    extra = {
        "result": {"handling_result": "已处罚款5万元"},
        "progress": {"progress_note": "已立案调查"},
    }
    return {"reply_letter_no": "英市监复〔2026〕1号", "reply_type": kind, **extra[kind]}


def verify(decision: str) -> dict[str, Any]:
    data = {"verification_decision": decision, "verification_findings": "核查属实"}
    if decision == "no_case":
        data["no_case_reasons"] = "已过追责时效"
    if decision == "request_extension":
        data["verification_extension_reason"] = "需现场勘验"
    return data


def open_case(prefix: str, field: str, *, old: bool = False) -> dict[str, Any]:
    return {
        "case_no": "英立〔2026〕8号",
        "enforcement_field": field,
        "case_team": [f"{prefix}_officer1", f"{prefix}_officer2"],
        "violation_date": "2023-05-01" if old else "2026-01-10",
        "limitation_concern": old,
    }


def investigate(outcome: str, *, major: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "investigation_findings": "事实清楚",
        "evidence_list": "检察院移送证据",
        "proposed_outcome": outcome,
        "major_case": major,
    }
    if outcome == "penalty":
        data["proposed_penalty"] = "罚款5万元"
    else:
        data.update(no_penalty_ground="first_minor", no_penalty_reasons="首次违法且及时改正")
    return data


def notify(*, hearing: bool, at: str) -> dict[str, Any]:
    """The notice of intended penalty, served when the task is done (a served time records
    the past: it cannot lie after the moment it is entered)."""
    return {
        "penalty_notice_no": "英告〔2026〕1号",
        "penalty_notice_served_at": at,
        "hearing_requested": hearing,
    }


def serve(at: str) -> dict[str, Any]:
    return {"service_method": "in_person", "decision_served_at": at, "publication_required": True}


def decide(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_decision": kind,
        "collective_discussion": False,
        "decision_no": "英罚〔2026〕20号",
    }
    if kind == "penalty":
        data["penalty_content"] = "罚款5万元"
    else:
        data["no_penalty_reasons"] = "首次违法且及时改正"
    return data


def legal(opinion: str) -> dict[str, Any]:
    return {"legal_review_opinion": opinion, "legal_review_comments": "审核意见"}


def extension(decision: str) -> dict[str, Any]:
    data = {"verification_extension_decision": decision}
    if decision == "reject":
        data["verification_extension_reasons"] = "理由不足"
    return data


# ---------------------------------------------------------------- shared stretches


def opinion_registered(session: Session) -> Case:
    """Variant a up to the fork: the reply and the case run in parallel from Wed 03-04."""
    case = start_case(session, START_OPINION, "scjg", "2026-03-04T14:00:00+08:00")
    assert_deadline(
        case.expect("register_procuratorial_opinion"),
        start="2026-03-04T14:00:00+08:00",
        due=day_end("2026-03-05"),
        unit="wd",
        deadline_id=None,
    )
    case.do("register_procuratorial_opinion", REGISTER_OPINION, "2026-03-04T15:00:00+08:00")
    assert case.open_ids() == ["open_penalty_case", "send_written_reply"]
    # A2-T3: 2 months from Wed 03-04 is Mon 05-04, a Labour Day holiday like 05-05: Wed 05-06.
    assert_deadline(
        case.expect("send_written_reply"),
        start=OPINION_RECEIVED,
        due=day_end("2026-05-06"),
        unit="mo",
        deadline_id="A2-T3",
        skipped=["2026-05-04", "2026-05-05"],
    )
    return case


def penalty_case(case: Case, prefix: str, field: str) -> None:
    """Open the case (Thu 03-05 onwards), investigate, notify without hearing and decide on
    Thu 04-02 10:00: the decision must be served within 7 working days (Tue 04-14)."""
    case.do("open_penalty_case", open_case(prefix, field), "2026-03-19T10:00:00+08:00")
    assert case.data()["case_opened_at"] == "2026-03-19T10:00:00+08:00"
    # A2-T4: the 90-day clock runs from the opening (Thu 03-19) to Wed 06-17 for every step.
    opened, due = "2026-03-19T10:00:00+08:00", day_end("2026-06-17")
    assert_case_clock(case.expect("investigate_case"), start=opened, due=due)
    case.do("investigate_case", investigate("penalty"), "2026-03-26T10:00:00+08:00")
    assert_case_clock(case.expect("notify_intended_penalty"), start=opened, due=due)
    case.do(
        "notify_intended_penalty",
        notify(hearing=False, at="2026-03-27T10:00:00+08:00"),
        "2026-03-27T10:00:00+08:00",
    )
    assert_case_clock(case.expect("decide_case"), start=opened, due=due)
    assert "decide_case" in case.open_ids()
    assert "legal_review" not in case.open_ids()
    case.do("decide_case", decide("penalty"), "2026-04-02T10:00:00+08:00")
    assert case.data()["case_decided_at"] == "2026-04-02T10:00:00+08:00"
    assert_deadline(
        case.expect("serve_decision"),
        start="2026-04-02T10:00:00+08:00",
        due=day_end("2026-04-14"),
        unit="wd",
        deadline_id=None,
        skipped=["2026-04-04", "2026-04-05", "2026-04-06", "2026-04-11", "2026-04-12"],
    )
    case.do("serve_decision", serve("2026-04-08T10:00:00+08:00"), "2026-04-08T10:00:00+08:00")
    assert case_clock(case.session, case.id)["stopped_at"] == "2026-04-08T02:00:00+00:00"


def sent_back_registered(session: Session, start: dict[str, Any]) -> Case:
    """Variants b/c: registered Mon 03-16 10:00; 15 working days to verify (Wed 04-08, after
    肉孜节 03-20..22 and 清明 04-06)."""
    case = start_case(session, start, "yj", "2026-03-16T08:30:00+08:00")
    assert_deadline(
        case.expect("register_sent_back_case"),
        start="2026-03-16T08:30:00+08:00",
        due=day_end("2026-03-17"),
        unit="wd",
        deadline_id=None,
    )
    case.do("register_sent_back_case", REGISTER_SENT_BACK, "2026-03-16T10:00:00+08:00")
    assert_deadline(
        case.expect("verify_sent_back_case"),
        start="2026-03-16T10:00:00+08:00",
        due=day_end("2026-04-08"),
        unit="wd",
        deadline_id=None,
    )
    return case


def extended_verification(case: Case) -> None:
    """Extension approved: 30 working days from the registration (Wed 04-29)."""
    case.do("verify_sent_back_case", verify("request_extension"), "2026-04-01T10:00:00+08:00")
    case.do("approve_verification_extension", extension("approve"), "2026-04-01T15:00:00+08:00")
    assert_deadline(
        case.expect("verify_sent_back_case_extended"),
        start="2026-03-16T10:00:00+08:00",
        due=day_end("2026-04-29"),
        unit="wd",
        deadline_id=None,
    )


def sending_organ_informed(case: Case, ready: str, due_day: str) -> None:
    assert_deadline(
        case.expect("inform_sending_organ"),
        start=ready,
        due=day_end(due_day),
        unit="wd",
        deadline_id=None,
    )
    case.do("inform_sending_organ", INFORM, ready)
    assert case.open_ids() == []
    assert case.status() == InstanceStatus.COMPLETED


# ---------------------------------------------------------------- paths


def test_opinion_answered_with_the_result_after_a_penalty(county: Session) -> None:
    """r01: opinion → penalty case → written reply with the result → follow-up satisfied."""
    case = opinion_registered(county)
    assert {"YJS-SCJG", "YJS-JCY"} <= set(instances.get_instance(county, case.id).party_orgs)
    penalty_case(case, "scjg", "market_regulation")
    assert case.open_ids() == ["send_written_reply"]
    case.do("send_written_reply", reply("result"), "2026-04-20T10:00:00+08:00")
    assert case.data()["reply_type"] == "result"
    assert case.expect("procuratorate_follow_up").deadline is None
    case.do("procuratorate_follow_up", SATISFIED, "2026-04-25T10:00:00+08:00")
    assert case.status() == InstanceStatus.COMPLETED


def test_progress_reply_hearing_legal_review_and_recommendation(county: Session) -> None:
    """r02: progress reply first; limitation doubt and a major case go through hearing and
    legal review (returned once); the final result follows; a recommendation is answered."""
    case = opinion_registered(county)
    case.do("send_written_reply", reply("progress"), "2026-03-05T10:00:00+08:00")
    assert case.open_ids() == ["open_penalty_case"]
    case.do(
        "open_penalty_case",
        open_case("scjg", "market_regulation", old=True),
        "2026-03-19T10:00:00+08:00",
    )
    case.do("investigate_case", investigate("penalty", major=True), "2026-03-26T10:00:00+08:00")
    case.do(
        "notify_intended_penalty",
        notify(hearing=True, at="2026-03-27T10:00:00+08:00"),
        "2026-03-27T10:00:00+08:00",
    )
    assert_case_clock(
        case.expect("hold_hearing"), start="2026-03-19T10:00:00+08:00", due=day_end("2026-06-17")
    )
    case.do("hold_hearing", HEARING, "2026-04-13T15:00:00+08:00")
    assert_case_clock(
        case.expect("legal_review"), start="2026-03-19T10:00:00+08:00", due=day_end("2026-06-17")
    )
    case.do("legal_review", legal("revise"), "2026-04-14T10:00:00+08:00")
    case.do("investigate_case", investigate("penalty", major=True), "2026-04-20T10:00:00+08:00")
    case.do(
        "notify_intended_penalty",
        notify(hearing=False, at="2026-04-21T10:00:00+08:00"),
        "2026-04-21T10:00:00+08:00",
    )
    case.do("legal_review", legal("agree"), "2026-04-22T10:00:00+08:00")
    case.do("decide_case", decide("penalty"), "2026-04-30T10:00:00+08:00")
    case.do("serve_decision", serve("2026-05-08T10:00:00+08:00"), "2026-05-08T10:00:00+08:00")
    # 5 working days from Fri 05-08: Sat 05-09 is a make-up working day, so Thu 05-14.
    assert_deadline(
        case.expect("send_final_result"),
        start="2026-05-08T10:00:00+08:00",
        due=day_end("2026-05-14"),
        unit="wd",
        deadline_id=None,
    )
    final = {"final_result_letter_no": "英市监复〔2026〕2号", "handling_result": "罚款5万元"}
    case.do("send_final_result", final, "2026-05-11T10:00:00+08:00")
    recommendation_answered(case)


def recommendation_answered(case: Case) -> None:
    """A2-T5: 2 months from Mon 08-03 is Sat 10-03, inside the National Day holidays: 10-08."""
    case.do("procuratorate_follow_up", RECOMMEND, "2026-08-03T10:00:00+08:00")
    assert case.data()["recommendation_served_at"] == "2026-08-03T10:00:00+08:00"
    assert_deadline(
        case.expect("reply_to_recommendation"),
        start="2026-08-03T10:00:00+08:00",
        due=day_end("2026-10-08"),
        unit="mo",
        deadline_id="A2-T5",
        skipped=["2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"],
    )
    case.do("reply_to_recommendation", REPLY_TO_RECOMMENDATION, "2026-09-15T10:00:00+08:00")
    case.do("procuratorate_follow_up", SATISFIED, "2026-09-30T10:00:00+08:00")
    assert case.status() == InstanceStatus.COMPLETED


def test_opinion_ends_without_penalty(county: Session) -> None:
    """r03: opinion → no penalty proposed and decided → served → result reply → satisfied."""
    case = opinion_registered(county)
    case.do(
        "open_penalty_case", open_case("scjg", "market_regulation"), "2026-03-19T10:00:00+08:00"
    )
    case.do("investigate_case", investigate("no_penalty"), "2026-03-26T10:00:00+08:00")
    assert "notify_intended_penalty" not in case.open_ids()
    case.do("decide_case", decide("no_penalty"), "2026-04-02T10:00:00+08:00")
    case.do("serve_decision", serve("2026-04-08T10:00:00+08:00"), "2026-04-08T10:00:00+08:00")
    case.do("send_written_reply", reply("result"), "2026-04-20T10:00:00+08:00")
    case.do("procuratorate_follow_up", SATISFIED, "2026-04-25T10:00:00+08:00")
    assert case.status() == InstanceStatus.COMPLETED


def test_police_case_opened_and_punished(county: Session) -> None:
    """r04: police send a case back → verified → opened → penalty → sending organ informed."""
    case = sent_back_registered(county, START_POLICE)
    assert "YJS-GA" in instances.get_instance(county, case.id).party_orgs
    case.do("verify_sent_back_case", verify("open_case"), "2026-03-18T10:00:00+08:00")
    penalty_case(case, "yj", "work_safety")
    # 5 working days from Wed 04-08: Thu 04-09 ... Wed 04-15.
    sending_organ_informed(case, "2026-04-08T10:00:00+08:00", "2026-04-15")


def test_police_case_not_opened(county: Session) -> None:
    """r05: verified → no case → sending organ informed (Wed 03-18 + 5 wd, 肉孜节 skipped)."""
    case = sent_back_registered(county, START_POLICE)
    case.do("verify_sent_back_case", verify("no_case"), "2026-03-18T10:00:00+08:00")
    assert case.data()["no_case_reasons"] == "已过追责时效"
    sending_organ_informed(case, "2026-03-18T10:00:00+08:00", "2026-03-26")


def test_court_case_extension_refused_then_approved(county: Session) -> None:
    """r06: court → extension refused (back to the 15-day verification) → requested again and
    approved → opened → no penalty → sending organ informed."""
    case = sent_back_registered(county, START_COURT)
    first = case.expect("verify_sent_back_case")
    case.do("verify_sent_back_case", verify("request_extension"), "2026-03-25T10:00:00+08:00")
    case.do("approve_verification_extension", extension("reject"), "2026-03-25T15:00:00+08:00")
    again = case.expect("verify_sent_back_case")
    assert again.id != first.id
    assert again.due_at == first.due_at
    extended_verification(case)
    case.do("verify_sent_back_case_extended", verify("open_case"), "2026-04-20T10:00:00+08:00")
    case.do("open_penalty_case", open_case("yj", "work_safety"), "2026-04-21T10:00:00+08:00")
    case.do("investigate_case", investigate("no_penalty"), "2026-04-27T10:00:00+08:00")
    case.do("decide_case", decide("no_penalty"), "2026-04-28T10:00:00+08:00")
    case.do("serve_decision", serve("2026-04-29T10:00:00+08:00"), "2026-04-29T10:00:00+08:00")
    # 5 working days from Wed 04-29: 04-30, (05-01..05-05 holidays), 05-06, 05-07, 05-08, 05-09.
    sending_organ_informed(case, "2026-04-29T10:00:00+08:00", "2026-05-09")


def test_police_case_declined_after_extension(county: Session) -> None:
    """r07: extension approved → no case within 30 working days → sending organ informed."""
    case = sent_back_registered(county, START_POLICE)
    extended_verification(case)
    case.do("verify_sent_back_case_extended", verify("no_case"), "2026-04-20T10:00:00+08:00")
    sending_organ_informed(case, "2026-04-20T10:00:00+08:00", "2026-04-27")
