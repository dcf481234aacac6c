"""township_empowerment (乡镇赋权): every path through the engine services, step by step.

T1 entrusts, runs the operation phase (guidance, assistance, quarterly cycle, evaluation,
supervision), adds support after a capacity failure and takes the items back after the
township reports it cannot cope. T2 revises the plan, hands the items over by regional
decision, switches to stationed officers, re-reviews after a change of law, renews at term
end and finally ends the delegation. T3 to T5 end before any delegation.
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
from engine.execution import runner
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import TaskStatus
from engine.models import TimerProjection
from engine.people import accounts
from tests.conftest import Clock
from tests.integration.workflows.support import complete
from tests.integration.workflows.support import data_of
from tests.integration.workflows.support import open_task
from tests.integration.workflows.support import open_tasks
from tests.integration.workflows.support import user

PROCESS = "township_empowerment"
DEPT = "YJS-SCJG"
TOWNSHIP = "TWP-YINGJISHA"
SFJ = "YJS-SFJ"
ITEM_CODES = ["SCJG-CF-0101", "SCJG-JC-0203"]
OPERATION_TASKS = [
    "annual_evaluation",
    "first_guidance_visit",
    "request_assistance",
    "supervise_delegation",
]

# Lane → (organization, role, demo user acting there).
LANES: dict[str, tuple[str, str, str]] = {
    "township_officer": (TOWNSHIP, "officer", "yingjisha_officer1"),
    "township_head": (TOWNSHIP, "head", "yingjisha_head"),
    "dept_officer": (DEPT, "officer", "scjg_officer1"),
    "dept_head": (DEPT, "head", "scjg_head"),
    "establishment_officer": ("YJS-BB", "officer", "bb_officer"),
    "justice_reviewer": (SFJ, "legal_reviewer", "sfj_legal"),
    "justice_coordinator": (SFJ, "coordinator", "sfj_coordinator"),
    "county_head": ("YJS-GOV", "head", "gov_head"),
    "op_township_officer": (TOWNSHIP, "officer", "yingjisha_officer2"),
    "op_dept_officer": (DEPT, "officer", "scjg_officer2"),
    "op_justice_coordinator": (SFJ, "coordinator", "sfj_coordinator"),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def start_data() -> dict[str, Any]:
    return {
        "delegation_title": "市场监管领域行政执法事项下放英吉沙镇",
        "dept_org": DEPT,
        "township_org": TOWNSHIP,
        "items": [
            {
                "item_code": ITEM_CODES[0],
                "item_name": "对销售过期食品的行政处罚",
                "item_type": "penalty",
                "legal_basis": "《食品安全法》第一百二十四条",
            },
            {
                "item_code": ITEM_CODES[1],
                "item_name": "对食品摊贩的行政检查",
                "item_type": "inspection",
                "legal_basis": "《新疆维吾尔自治区食品小作坊小餐饮店小食杂店和食品摊贩管理条例》",
            },
        ],
        "proposal_reason": "乡镇日常监管高频事项，就近执法",
        "planned_legal_form": "entrust",
    }


class Case:
    """One instance driven through the services with the test clock (Spiff timers see it)."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        clock.now = utc(2026, 3, 2, 1, 0)
        self.instance = instances.start_instance(
            session,
            process_id=PROCESS,
            data=start_data(),
            user=user(session, "scjg_officer1"),
            now=clock.now,
        )

    @property
    def id(self) -> int:
        return self.instance.id

    def at(self, moment: datetime) -> None:
        assert moment >= self.clock.now
        self.clock.now = moment

    def task(self, bpmn_id: str, lane: str) -> HumanTask:
        task = open_task(self.session, self.id, bpmn_id)
        org, role, _user = LANES[lane]
        assert (task.lane, task.org_code, task.role, task.assignee_id) == (lane, org, role, None)
        return task

    def do(self, bpmn_id: str, lane: str, form: Mapping[str, Any]) -> HumanTask:
        task = self.task(bpmn_id, lane)
        complete(self.session, task, LANES[lane][2], form, now=self.clock.now)
        return task

    def open_ids(self) -> list[str]:
        return sorted(t.bpmn_id for t in open_tasks(self.session, self.id))

    def data(self) -> dict[str, Any]:
        return data_of(self.session, self.id)

    def advance(self, moment: datetime) -> None:
        self.at(moment)
        runner.advance_instance(self.session, instance_id=self.id, actor="timer", now=moment)


def assert_deadline(task: HumanTask, deadline_id: str, rule: str, due: str) -> None:
    assert task.deadline is not None
    assert (task.deadline["deadline_id"], task.deadline["rule"]) == (deadline_id, rule)
    assert task.deadline["due"] == due
    assert task.due_at == as_utc(due)


TOWNSHIP_OFFICERS = ["yingjisha_officer1", "yingjisha_officer2"]


def certify_township_officers(session: Session) -> None:
    """The township's two demo officers hold enforcement certificates (the demo has none)."""
    for n, username in enumerate(TOWNSHIP_OFFICERS, start=1):
        accounts.add_certificate(
            session,
            user(session, username),
            number=f"TWP-YINGJISHA-2026-{n:03d}",
            fields=["market_regulation"],
            valid_until=date(2029, 12, 31),
        )


@pytest.fixture
def new_case(county: Session, clock: Clock) -> Case:
    certify_township_officers(county)
    return Case(county, clock)


ASSESSMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "assess_by_department": (
        "dept_officer",
        {"department_opinion": "可下放", "case_forecast": 30, "support_plan": "派员指导"},
    ),
    "assess_by_establishment_office": ("establishment_officer", {"staffing_opinion": "编制可调剂"}),
    "assess_by_justice_bureau": (
        "justice_coordinator",
        {"delegability": "entrust", "legal_opinion": "可依法委托", "review_capacity": "司法局审核"},
    ),
}


def needs_and_assessments(
    case: Case, conclusion: str, last: str = "assess_by_justice_bureau"
) -> None:
    """Township needs, then the three parallel assessments (`last` submitted last)."""
    assert case.instance.township_code == TOWNSHIP
    assert set(case.instance.party_orgs) >= {DEPT, TOWNSHIP}
    assert case.open_ids() == ["submit_township_needs"]
    needs = {
        "accepted_item_codes": ITEM_CODES,
        "certified_officer_count": 4,
        "legal_reviewer_count": 1,
        "equipment": "执法记录仪4台",
    }
    case.do("submit_township_needs", "township_officer", needs)
    assert case.open_ids() == sorted(ASSESSMENTS)
    case.at(utc(2026, 3, 3, 2, 0))
    for bpmn_id in [*sorted(set(ASSESSMENTS) - {last}), last]:
        assert "compile_capacity_report" not in case.open_ids()
        lane, form = ASSESSMENTS[bpmn_id]
        case.do(bpmn_id, lane, form)
    report: dict[str, Any] = {
        "report_no": "BB-PG-2026-01",
        "legal_review_capacity": "司法局承担法制审核",
        "capacity_conclusion": conclusion,
    }
    if conclusion == "not_ready":
        report["conclusion_reason"] = "持证人员不足"
    case.do("compile_capacity_report", "establishment_officer", report)


def review(case: Case, decision: str) -> None:
    case.task("legal_review", "justice_reviewer")
    form = {
        "review_opinion_no": f"SFJ-SH-{decision}",
        "reviewed_item_codes": ITEM_CODES,
        "review_decision": decision,
        "review_findings": "审核意见",
    }
    case.do("legal_review", "justice_reviewer", form)


def decide(case: Case, legal_form: str, term_end_at: str, term_years: int = 2) -> None:
    form = {
        "county_decision": "approve",
        "decision_no": "英政发〔2026〕12号",
        "legal_form": legal_form,
        "authority_instrument": "county_document",
        "effective_date": "2026-03-09",
        "term_years": term_years,
        "term_end_at": term_end_at,
    }
    case.do("decide_delegation", "county_head", form)


def settle_form(case: Case, legal_form: str) -> None:
    if legal_form == "entrust":
        agreement = {
            "agreement_no": "WT-2026-01",
            "entrusted_item_codes": ITEM_CODES,
            "authority_scope": "以委托机关名义实施",
            "agreement_term": "两年",
            "rights_duties": "不得再委托",
            "supervision_measures": "季度指导、年度评估",
        }
        case.do("sign_entrustment_agreement", "dept_head", agreement)
    elif legal_form == "handover":
        region = {"region_decision_no": "新政函〔2026〕8号", "region_decision_date": "2026-03-03"}
        case.do("record_region_decision", "dept_officer", region)
    else:
        team = {
            "stationed_officers": ["scjg_officer1", "scjg_officer3"],
            "enforcement_field": "market_regulation",
            "station_term": "一年",
            "management": "县局统一管理",
        }
        case.do("arrange_stationed_team", "dept_head", team)
    assert case.open_ids() == ["publish_decision"]


def current_item_codes(case: Case) -> list[str]:
    """The codes of the items the case delegates now (a revision may have dropped some)."""
    return [item["item_code"] for item in case.data()["items"]]


def publish_and_hand_over(case: Case, published: datetime, handover_due: str) -> None:
    case.at(published)
    publication = {
        "publication_date": published.date().isoformat(),
        "publication_url": "https://www.yjs.gov.cn/zwgk/fqqd",
        "list_version": "v1",
    }
    case.do("publish_decision", "dept_officer", publication)
    assert as_utc(case.data()["published_at"]) == published
    case.do(
        "accept_delegated_items",
        "township_head",
        {"acceptance_confirmed": True, "receiving_unit": "综合行政执法队"},
    )
    handover = case.task("complete_handover", "dept_officer")
    assert_deadline(handover, "D-T1", "30wd", handover_due)
    form = {
        "handover_list_no": "JJ-2026-01",
        "handed_items": current_item_codes(case),
        "pending_cases": 0,
        "handover_date": published.date().isoformat(),
        "signatories": "双方负责人",
    }
    case.do("complete_handover", "dept_officer", form)


def enter_operation(case: Case, moment: datetime, first_due: str, evaluation_due: str) -> None:
    case.at(moment)
    capacity = {
        "training_done": True,
        "certified_officers": TOWNSHIP_OFFICERS,
        "legal_review_arrangement": "justice_bureau",
    }
    case.do("confirm_capacity_building", "township_officer", capacity)
    data = case.data()
    assert as_utc(data["operation_started_at"]) == moment
    assert data["guidance_cycle"] == f"R{data['term_years'] * 4}/P3M"
    assert case.open_ids() == OPERATION_TASKS
    assert case.task("request_assistance", "op_township_officer").due_at is None
    assert case.task("supervise_delegation", "op_justice_coordinator").due_at is None
    assert_deadline(case.task("first_guidance_visit", "op_dept_officer"), "D-T2", "20wd", first_due)
    evaluation = case.task("annual_evaluation", "op_justice_coordinator")
    assert_deadline(evaluation, "D-T4", "12mo", evaluation_due)


def guidance(case: Case, bpmn_id: str, day: str) -> None:
    form: dict[str, Any] = {"guidance_date": day, "guidance_mode": "on_site", "topics": "办案流程"}
    if bpmn_id == "first_guidance_visit":
        form["liaison"] = "张某"
    case.do(bpmn_id, "op_dept_officer", form)


def evaluate(case: Case, rating: str, period: str = "2026年度") -> None:
    form = {
        "evaluation_period": period,
        "cases_per_item": "SCJG-CF-0101: 12; SCJG-JC-0203: 0",
        "complaints": 0,
        "overturned": 0,
        "evaluation_rating": rating,
        "recommendations": "继续加强培训",
    }
    case.do("annual_evaluation", "op_justice_coordinator", form)


def supervise(case: Case, finding: str) -> None:
    form: dict[str, Any] = {"supervision_finding": finding, "supervision_note": "监督记录"}
    if finding == "law_change":
        form |= {"affected_item_codes": ITEM_CODES[:1], "changed_law": "《食品安全法》修正"}
    case.do("supervise_delegation", "op_justice_coordinator", form)


def request(case: Case, request_type: str) -> None:
    form = {
        "request_type": request_type,
        "request_subject": "疑难案件",
        "request_detail": "请求派员协助",
    }
    case.do("request_assistance", "op_township_officer", form)


def adjust(case: Case, reported: datetime, decide_due: str, adjustment: str) -> None:
    """From the capacity-failure report to the published adjustment."""
    case.at(reported)
    assert case.open_ids()[0] == "report_capacity_failure"
    report = {
        "affected_item_codes": current_item_codes(case),
        "failure_reason": "cannot_cope",
        "evidence": "评查发现多起程序违法",
        "proposal": adjustment,
        "reported_to": True,
    }
    case.do("report_capacity_failure", "justice_coordinator", report)
    assert as_utc(case.data()["failure_reported_at"]) == reported
    case.do(
        "establishment_adjustment_opinion",
        "establishment_officer",
        {"establishment_opinion": "同意调整"},
    )
    decision = case.task("decide_adjustment", "county_head")
    assert_deadline(decision, "D-T5", "30cd", decide_due)
    form = {
        "adjustment": adjustment,
        "adjustment_decision_no": "英政发〔2026〕40号",
        "adjustment_effective_date": reported.date().isoformat(),
        "adjustment_reason": "接不住、监管跟不上",
    }
    case.do("decide_adjustment", "county_head", form)
    publication = {
        "adjustment_publication_date": reported.date().isoformat(),
        "adjustment_publication_url": "https://www.yjs.gov.cn/zwgk/tz",
    }
    case.do("publish_adjustment", "dept_officer", publication)


def hand_back(case: Case) -> None:
    form = {
        "hand_back_list_no": "JH-01",
        "returned_item_codes": current_item_codes(case),
        "pending_cases": 1,
        "hand_back_date": case.clock.now.date().isoformat(),
    }
    case.do("hand_back_items", "dept_officer", form)
    assert case.open_ids() == ["confirm_hand_back"]
    case.do("confirm_hand_back", "township_officer", {"hand_back_confirmed": True})
    assert case.open_ids() == []
    assert case.instance.status == InstanceStatus.COMPLETED


def task_rows(case: Case, bpmn_id: str) -> list[HumanTask]:
    rows = case.session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id == case.id, HumanTask.bpmn_id == bpmn_id)
        .order_by(HumanTask.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def task_states(case: Case, bpmn_id: str) -> list[TaskStatus]:
    return [row.status for row in task_rows(case, bpmn_id)]


def timers(case: Case) -> set[tuple[str | None, datetime]]:
    rows = case.session.execute(
        select(TimerProjection.bpmn_id, TimerProjection.due_at).where(
            TimerProjection.instance_id == case.id
        )
    )
    return {(bpmn_id, due) for bpmn_id, due in rows}


def test_t1_entrust_operate_support_then_take_back(new_case: Case) -> None:
    case = new_case
    needs_and_assessments(case, "ready")
    case.at(utc(2026, 3, 4, 2, 0))
    review(case, "pass")
    decide(case, "entrust", "2028-03-31T23:59:00+08:00")
    settle_form(case, "entrust")
    # D-T1: 30 working days after Monday 9 March, skipping 20 March (肉孜节) and 6 April (清明).
    publish_and_hand_over(case, utc(2026, 3, 9, 2, 0), "2026-04-22T23:59:59.999999+08:00")
    # Operation from Wednesday 1 April 10:00: D-T2 skips 6 April; D-T4 twelve months on.
    operation = utc(2026, 4, 1, 2, 0)
    enter_operation(
        case, operation, "2026-04-30T23:59:59.999999+08:00", "2027-04-01T23:59:59.999999+08:00"
    )
    term_end = ("term_end_timer", utc(2028, 3, 31, 15, 59))
    assert timers(case) == {("quarterly_guidance_timer", utc(2026, 7, 1, 2, 0)), term_end}
    # A request on Thursday 2 April is answered within 3 working days: 3, 7 and 8 April.
    case.at(utc(2026, 4, 2, 2, 0))
    request(case, "assistance")
    answer = case.task("answer_assistance", "op_dept_officer")
    assert_deadline(answer, "D-T3", "3wd", "2026-04-08T23:59:59.999999+08:00")
    case.at(utc(2026, 4, 7, 2, 0))
    case.do("answer_assistance", "op_dept_officer", {"answer": "派员协助", "support_mode": "joint"})
    assert "request_assistance" in case.open_ids()
    guidance(case, "first_guidance_visit", "2026-04-07")
    supervise(case, "routine")
    assert case.open_ids() == ["annual_evaluation", "request_assistance", "supervise_delegation"]
    # The quarterly cycle fires three months after the operation began.
    case.advance(utc(2026, 7, 1, 3, 0))
    quarterly = case.task("quarterly_guidance_visit", "op_dept_officer")
    # D-T2 quarterly: three months after 1 July is 1 October, in the National Day holiday
    # (1 to 7 October): moved to Thursday 8 October.
    assert_deadline(quarterly, "D-T2", "3mo", "2026-10-08T23:59:59.999999+08:00")
    guidance(case, "quarterly_guidance_visit", "2026-07-01")
    case.at(utc(2026, 9, 30, 2, 0))
    evaluate(case, "adequate")
    renewed = case.task("annual_evaluation", "op_justice_coordinator")
    assert renewed.deadline is not None
    assert renewed.deadline["due"] == "2027-09-30T23:59:59.999999+08:00"
    case.advance(utc(2026, 10, 1, 3, 0))
    assert task_states(case, "quarterly_guidance_visit") == [TaskStatus.COMPLETED, TaskStatus.OPEN]
    # A special evaluation on 12 October finds the township cannot cope: the failure ends
    # the operation phase, its standing tasks and the open quarterly visit.
    case.at(utc(2026, 10, 12, 1, 0))
    evaluate(case, "capacity_failure", period="2026年度专项评估")
    assert case.open_ids() == ["report_capacity_failure"]
    assert task_states(case, "quarterly_guidance_visit") == [
        TaskStatus.COMPLETED,
        TaskStatus.CANCELLED,
    ]
    # D-T5: 30 days after Monday 12 October 10:00 is Wednesday 11 November.
    adjust(case, utc(2026, 10, 12, 2, 0), "2026-11-11T23:59:59.999999+08:00", "more_support")
    case.do(
        "arrange_additional_support",
        "dept_officer",
        {"support_measures": "增派2名执法人员驻点3个月"},
    )
    # Back in operation on 12 October: a new first visit and a new quarterly cycle.
    assert timers(case) == {("quarterly_guidance_timer", utc(2027, 1, 12, 2, 0)), term_end}
    assert case.open_ids() == OPERATION_TASKS
    assert len(task_states(case, "first_guidance_visit")) == 2
    # A request on Monday 2 November is due by Thursday 5 November (3 working days).
    case.at(utc(2026, 11, 2, 2, 0))
    request(case, "assistance")
    answer = case.task("answer_assistance", "op_dept_officer")
    assert_deadline(answer, "D-T3", "3wd", "2026-11-05T23:59:59.999999+08:00")
    case.do(
        "answer_assistance", "op_dept_officer", {"answer": "远程指导", "support_mode": "guidance"}
    )
    request(case, "capacity_failure")
    assert case.open_ids() == ["report_capacity_failure"]
    adjust(case, utc(2026, 11, 2, 3, 0), "2026-12-02T23:59:59.999999+08:00", "take_back")
    assert case.open_ids() == ["hand_back_items"]
    hand_back(case)
    assert timers(case) == set()


def test_t2_revise_handover_station_law_change_renew_and_end(new_case: Case) -> None:
    case = new_case
    needs_and_assessments(case, "ready")
    review(case, "revise")
    revised = start_data()["items"][:1]
    case.do(
        "revise_delegation_plan",
        "dept_officer",
        {"revision_note": "删除检查事项", "items": revised},
    )
    assert case.data()["items"] == revised
    review(case, "pass")
    decide(case, "handover", "2027-03-08T23:59:00+08:00", term_years=1)
    settle_form(case, "handover")
    publish_and_hand_over(case, utc(2026, 3, 9, 2, 0), "2026-04-22T23:59:59.999999+08:00")
    enter_operation(
        case,
        utc(2026, 4, 1, 2, 0),
        "2026-04-30T23:59:59.999999+08:00",
        "2027-04-01T23:59:59.999999+08:00",
    )
    assert case.data()["guidance_cycle"] == "R4/P3M"
    case.at(utc(2026, 5, 6, 2, 0))
    supervise(case, "routine")
    supervise(case, "capacity_failure")
    adjust(case, utc(2026, 5, 6, 3, 0), "2026-06-05T23:59:59.999999+08:00", "station")
    team = {
        "stationed_officers": ["scjg_officer2", "scjg_officer3"],
        "enforcement_field": "market_regulation",
        "station_term": "至赋权期限届满",
    }
    case.do("station_county_team", "dept_head", team)
    assert case.open_ids() == OPERATION_TASKS
    case.at(utc(2026, 6, 1, 2, 0))
    supervise(case, "law_change")
    assert case.open_ids() == ["legal_review"]
    review(case, "pass")
    decide(case, "station", "2027-03-08T23:59:00+08:00", term_years=1)
    settle_form(case, "station")
    # D-T1 from Monday 8 June: 30 working days skipping 19 June (端午) end on Tuesday 21 July.
    publish_and_hand_over(case, utc(2026, 6, 8, 2, 0), "2026-07-21T23:59:59.999999+08:00")
    # D-T2 from Monday 15 June: 20 working days, again skipping 19 June: Tuesday 14 July.
    enter_operation(
        case,
        utc(2026, 6, 15, 2, 0),
        "2026-07-14T23:59:59.999999+08:00",
        "2027-06-15T23:59:59.999999+08:00",
    )
    # The term ends at 23:59 on 8 March 2027 (Beijing); the timer fires on the next step.
    # The interrupting term-end timer cancels the operation phase with its quarterly cycle.
    case.advance(utc(2027, 3, 9, 1, 0))
    assert case.open_ids() == ["review_term_end"]
    assert timers(case) == set()
    case.do(
        "review_term_end",
        "county_head",
        {"term_decision": "renew", "term_reason": "承接良好，续期"},
    )
    review(case, "pass")
    decide(case, "entrust", "2028-03-08T23:59:00+08:00", term_years=1)
    settle_form(case, "entrust")
    # No holiday data for 2027: counted Monday to Friday, with a warning on the deadline.
    publish_and_hand_over(case, utc(2027, 3, 15, 2, 0), "2027-04-26T23:59:59.999999+08:00")
    handover = task_rows(case, "complete_handover")[-1]
    assert handover.deadline is not None
    assert any("2027" in warning for warning in handover.deadline["warnings"])
    enter_operation(
        case,
        utc(2027, 3, 22, 2, 0),
        "2027-04-19T23:59:59.999999+08:00",
        "2028-03-22T23:59:59.999999+08:00",
    )
    case.advance(utc(2028, 3, 9, 1, 0))
    assert case.open_ids() == ["review_term_end"]
    case.do(
        "review_term_end",
        "county_head",
        {"term_decision": "end", "term_reason": "事项已调整为部门直接执法"},
    )
    assert case.open_ids() == ["hand_back_items"]
    hand_back(case)


def test_t3_not_ready_ends_without_delegation(new_case: Case) -> None:
    case = new_case
    needs_and_assessments(case, "not_ready", last="assess_by_department")
    assert case.open_ids() == []
    assert case.data()["capacity_conclusion"] == "not_ready"
    assert case.instance.status == InstanceStatus.COMPLETED


def test_t4_legal_review_rejects(new_case: Case) -> None:
    case = new_case
    needs_and_assessments(case, "ready", last="assess_by_establishment_office")
    review(case, "reject")
    assert case.open_ids() == []
    assert case.instance.status == InstanceStatus.COMPLETED


def test_t5_county_declines(new_case: Case) -> None:
    case = new_case
    needs_and_assessments(case, "ready")
    review(case, "pass")
    form = {"county_decision": "decline", "decline_reason": "乡镇执法力量尚不足"}
    case.do("decide_delegation", "county_head", form)
    assert case.open_ids() == []
    assert case.data()["decline_reason"] == "乡镇执法力量尚不足"
    assert case.instance.status == InstanceStatus.COMPLETED
