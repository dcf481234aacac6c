"""Forms officials can trust (issue 11): who may say what, only offered values, plausible values.

Every example found in the issue, through the engine services with a save and reload between
steps: each refusal is a field error naming the field in Chinese, and the case does not move.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.errors import InvalidTaskData
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import Role
from engine.planning.models import InspectionObject
from tests.conftest import Clock
from tests.factories import make_user
from tests.integration.workflows import test_criminal_transfer as criminal
from tests.integration.workflows import test_discipline_referral as discipline
from tests.integration.workflows import test_joint_inspection as joint
from tests.integration.workflows import test_reverse_transfer as reverse
from tests.integration.workflows import test_township_empowerment as township
from tests.integration.workflows.support import at
from tests.integration.workflows.support import complete
from tests.integration.workflows.support import data_of
from tests.integration.workflows.support import open_task
from tests.integration.workflows.support import open_tasks
from tests.integration.workflows.support import user


def refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
    """The field errors of a call that must be refused."""
    with pytest.raises(InvalidTaskData) as caught:
        call(*args, **kwargs)
    return dict(caught.value.field_errors)


def refused_task(
    session: Session, task: HumanTask, username: str, form: Mapping[str, Any], now: datetime
) -> dict[str, str]:
    """Field errors of a refused submission; the task stays open and the case running."""
    errors = refused(complete, session, task, username, form, now=now)
    assert task.id in {t.id for t in open_tasks(session, task.instance_id)}
    instance = instances.get_instance(session, task.instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.RUNNING, None)
    return errors


# ---------------------------------------------------------------- 1. who may say what

ACTING_SIDE = [
    # (process, starting user, field, its title, start data naming another agency)
    (
        "township_empowerment",
        "yj_officer1",
        "dept_org",
        "赋权部门",
        {**township.start_data(), "dept_org": "YJS-WJW"},
    ),
    ("joint_inspection", "yj_officer1", "lead_org", "牵头部门", joint.start_data("random")),
    (
        "discipline_referral",
        "scjg_officer1",
        "agency_org",
        "移送线索的机关",
        {**discipline.START, "agency_org": "YJS-WJW"},
    ),
    ("criminal_transfer", "yj_officer1", "agency_org", "移送的行政执法机关", criminal.START),
    (
        "reverse_transfer",
        "yj_officer1",
        "agency_org",
        "承办的行政执法机关",
        reverse.START_OPINION,
    ),
]


@pytest.mark.parametrize(
    ("process_id", "username", "field", "title", "data"),
    ACTING_SIDE,
    ids=[case[0] for case in ACTING_SIDE],
)
def test_a_user_cannot_start_a_case_in_the_name_of_another_agency(
    county: Session, process_id: str, username: str, field: str, title: str, data: dict[str, Any]
) -> None:
    starter = user(county, username)
    assert data[field] != starter.org_code

    errors = refused(
        instances.start_instance,
        county,
        process_id=process_id,
        data=data,
        user=starter,
        now=at("2026-03-04T12:00:00+08:00"),
    )

    assert errors == {field: f"{title}只能是您所在的机构 ({starter.org_code})"}
    accepted = instances.start_instance(
        county,
        process_id=process_id,
        data={**data, field: starter.org_code},
        user=starter,
        now=at("2026-03-04T12:00:00+08:00"),
    )
    assert accepted.status == InstanceStatus.RUNNING


def test_a_case_started_by_the_system_for_another_case_is_not_checked(county: Session) -> None:
    started = instances.start_instance(
        county,
        process_id="criminal_transfer",
        data=criminal.START,
        user=None,
        now=at("2026-03-04T12:00:00+08:00"),
    )
    assert started.status == InstanceStatus.RUNNING


# ---------------------------------------------------------------- joint inspection


@pytest.fixture
def with_nync(county: Session) -> Session:
    valid = ((["agriculture"], date(2029, 12, 31)),)
    make_user(county, username="nync_officer1", org_code="YJS-NYNC", certificates=valid)
    make_user(county, username="nync_officer2", org_code="YJS-NYNC", certificates=valid)
    make_user(county, username="nync_head", org_code="YJS-NYNC", role=Role.HEAD)
    return county


def _targeted_plan(session: Session) -> tuple[int, list[str]]:
    """A targeted inspection up to its plan; returns the instance and the proposed dates."""
    instance = joint.start(session, "targeted")
    joint.confirm_items(session, instance.id)
    obj = session.scalars(select(InspectionObject).order_by(InspectionObject.credit_code)).first()
    assert obj is not None
    form = {
        "targeted_basis": "complaint",
        "basis_ref": "12345-2026-0301",
        "inspection_objects": [{"credit_code": obj.credit_code, "name": obj.name}],
    }
    task = open_task(session, instance.id, "enter_targeted_objects")
    complete(session, task, "scjg_officer1", form, now=joint.MON_0302_LATER)
    return instance.id, data_of(session, instance.id)["date_proposals"]["dates"]


def test_a_visit_date_that_was_not_proposed_is_refused(with_nync: Session) -> None:
    session = with_nync
    instance_id, dates = _targeted_plan(session)
    plan = open_task(session, instance_id, "plan_inspection")
    form = joint.plan_form("1900-01-01", mode="site", notice="notice")

    errors = refused_task(session, plan, "scjg_officer1", form, joint.TUE_0303)

    assert (
        errors["visit_date"]
        == "检查日期（从建议日期中选定）只能从系统给出的选项中选择 (1900-01-01 不在其中)"
    )
    form["visit_date"] = dates[0]
    complete(session, plan, "scjg_officer1", form, now=joint.TUE_0303)
    assert data_of(session, instance_id)["visit_date"] == dates[0]


def _approved_site_visit(session: Session) -> tuple[int, str]:
    instance_id, dates = _targeted_plan(session)
    plan = open_task(session, instance_id, "plan_inspection")
    form = joint.plan_form(dates[0], mode="site", notice="notice")
    complete(session, plan, "scjg_officer1", form, now=joint.TUE_0303)
    joint.approve_all(session, instance_id, joint.WED_0304)
    return instance_id, dates[0]


NOTICE = {
    "notice_no": "JCTZ-2026-01",
    "served_to": "被检查单位",
    "service_method": "direct",
    "rights_informed": True,
}


def test_a_notice_dated_in_year_one_or_tomorrow_is_refused(with_nync: Session) -> None:
    session = with_nync
    instance_id, _visit = _approved_site_visit(session)
    notice = open_task(session, instance_id, "serve_inspection_notice")

    ancient = refused_task(
        session, notice, "scjg_officer1", {**NOTICE, "notice_date": "0001-01-01"}, joint.THU_0305
    )
    future = refused_task(
        session, notice, "scjg_officer1", {**NOTICE, "notice_date": "2026-03-06"}, joint.THU_0305
    )

    assert ancient == {"notice_date": "通知日期不能早于案件发起日期 (2026-03-02 09:00)"}
    assert future == {"notice_date": "通知日期不能晚于今天 (2026-03-05)"}
    complete(
        session,
        notice,
        "scjg_officer1",
        {**NOTICE, "notice_date": "2026-03-05"},
        now=joint.THU_0305,
    )


def test_a_site_visit_before_the_approved_date_is_refused(with_nync: Session) -> None:
    session = with_nync
    instance_id, visit_date = _approved_site_visit(session)
    notice = open_task(session, instance_id, "serve_inspection_notice")
    complete(
        session,
        notice,
        "scjg_officer1",
        {**NOTICE, "notice_date": "2026-03-05"},
        now=joint.THU_0305,
    )
    visit = open_task(session, instance_id, "conduct_site_visit")
    form = {"site_record_no": "XCBL-01", "certificates_shown": True, "rights_informed": True}
    approved = date.fromisoformat(visit_date)
    early = at(f"{approved - timedelta(days=4)}T10:00:00+08:00")

    errors = refused_task(session, visit, "scjg_officer1", form, early)

    assert errors == {"visited_at": f"检查完成时间不能早于批准的检查日期 ({visit_date})"}
    complete(session, visit, "scjg_officer1", form, now=at(f"{approved}T10:00:00+08:00"))


def _visited(session: Session) -> tuple[int, str, dict[str, list[str]]]:
    """A targeted site inspection up to the findings: the instance, the object, the teams."""
    instance_id, _visit = _approved_site_visit(session)
    notice = open_task(session, instance_id, "serve_inspection_notice")
    complete(
        session,
        notice,
        "scjg_officer1",
        {**NOTICE, "notice_date": "2026-03-05"},
        now=joint.THU_0305,
    )
    visit = open_task(session, instance_id, "conduct_site_visit")
    form = {"site_record_no": "XCBL-01", "certificates_shown": True, "rights_informed": True}
    complete(session, visit, "scjg_officer1", form, now=joint.MON_0316)
    code = data_of(session, instance_id)["inspection_objects"][0]["credit_code"]
    inspectors = {
        org: [joint.OFFICERS[org], f"{joint.OFFICERS[org][:-1]}2"] for org in joint.ALL_AGENCIES
    }
    return instance_id, code, inspectors


def test_findings_on_an_object_that_was_not_inspected_are_refused(with_nync: Session) -> None:
    session = with_nync
    instance_id, code, inspectors = _visited(session)
    task = joint.tasks_by_org(session, instance_id, "record_findings")["YJS-SCJG"]
    form = {
        "record_no": "JC-YJS-SCJG-01",
        "inspectors": inspectors["YJS-SCJG"],
        "findings": [joint.finding("91653123FORGED0001", "no_problem")],
    }

    errors = refused_task(session, task, "scjg_officer1", form, joint.TUE_0317)

    assert errors == {
        "findings.0.object_credit_code": "检查对象统一社会信用代码只能从系统给出的选项中选择"
        " (91653123FORGED0001 不在其中)"
    }
    form["findings"] = [joint.finding(code, "no_problem")]
    complete(session, task, "scjg_officer1", form, now=joint.TUE_0317)


def test_a_publication_in_9999_and_an_impossible_count_are_refused(with_nync: Session) -> None:
    session = with_nync
    instance_id, code, inspectors = _visited(session)
    outcomes = {org: ["no_problem"] for org in joint.ALL_AGENCIES}
    joint.record_all_findings(session, instance_id, outcomes, inspectors, code)
    results = {
        "results_notice_no": "JG-2026-01",
        "results_summary": "无问题",
        "notice_service_date": "2026-04-15",
    }
    complete(
        session,
        open_task(session, instance_id, "notify_results"),
        "scjg_officer1",
        results,
        now=joint.WED_0415,
    )
    publish = open_task(session, instance_id, "publish_results")
    form = {
        "platform": "both",
        "publication_date": "2026-04-15",
        "published_item_count": 6,
        "privacy_checked": True,
    }

    far = refused_task(
        session,
        publish,
        "scjg_officer1",
        {**form, "publication_date": "9999-12-31"},
        joint.WED_0415,
    )
    huge = refused_task(
        session, publish, "scjg_officer1", {**form, "published_item_count": 10**29}, joint.WED_0415
    )

    assert far == {"publication_date": "公示日期不能晚于今天 (2026-04-15)"}
    assert huge == {"published_item_count": "不能大于 100000"}
    complete(session, publish, "scjg_officer1", form, now=joint.WED_0415)
    assert instances.get_instance(session, instance_id).status == InstanceStatus.COMPLETED


def test_an_inspection_of_ten_to_the_29_objects_is_refused(county: Session) -> None:
    data = {**joint.start_data("random"), "object_count": 10**29}
    errors = refused(
        instances.start_instance,
        county,
        process_id="joint_inspection",
        data=data,
        user=user(county, "scjg_officer1"),
        now=joint.MON_0302,
    )
    assert errors == {"object_count": "不能大于 1000"}


# ---------------------------------------------------------------- criminal transfer


def test_an_amount_of_1e308_is_refused(county: Session) -> None:
    errors = refused(
        instances.start_instance,
        county,
        process_id="criminal_transfer",
        data={**criminal.START, "amount_involved": 1e308},
        user=user(county, "scjg_officer1"),
        now=at("2026-03-04T12:00:00+08:00"),
    )
    assert errors == {"amount_involved": "不能大于 1000000000000"}


# ---------------------------------------------------------------- discipline referral


def test_a_conclusive_opinion_dated_1970_is_refused_and_raises_no_flag(
    county: Session, clock: Clock
) -> None:
    case = discipline.screened(county, clock, "in_scope")
    task = case.expect("fix_evidence")
    clock.now = at("2026-03-17T10:00:00+08:00")

    errors = refused_task(
        county, task, "scjg_liaison", discipline.fix("1970-01-01T08:00:00+08:00"), clock.now
    )

    assert errors == {"conclusive_opinion_at": "形成结论性意见时间不能早于5 年前 (2021-03-17)"}
    assert [t.bpmn_id for t in open_tasks(county, case.id)] == ["fix_evidence"]
    before_discovery = discipline.fix("2026-03-12T10:00:00+08:00")
    errors = refused_task(county, task, "scjg_liaison", before_discovery, clock.now)
    assert errors == {
        "conclusive_opinion_at": "形成结论性意见时间不能早于发现时间 (2026-03-13 16:00)"
    }
    case.do(
        "fix_evidence", discipline.fix("2026-03-16T16:00:00+08:00"), "2026-03-17T10:00:00+08:00"
    )
    case.do("prepare_transfer_letter", discipline.LETTER, "2026-03-18T10:00:00+08:00")
    case.do("principal_head_approval", discipline.head("approve"), "2026-03-19T10:00:00+08:00")
    transfer = case.expect("transfer_after_conclusive_opinion")
    assert transfer.due_at is not None and transfer.due_at > clock.now


# ---------------------------------------------------------------- township empowerment


@pytest.fixture
def operating(county: Session, clock: Clock) -> township.Case:
    """A township delegation up to the capacity sign-off (township officers certified)."""
    township.certify_township_officers(county)
    case = township.Case(county, clock)
    township.needs_and_assessments(case, "ready")
    case.at(township.utc(2026, 3, 4, 2, 0))
    township.review(case, "pass")
    township.decide(case, "entrust", "2028-03-31T23:59:00+08:00")
    township.settle_form(case, "entrust")
    township.publish_and_hand_over(
        case, township.utc(2026, 3, 9, 2, 0), "2026-04-22T23:59:59.999999+08:00"
    )
    case.at(township.utc(2026, 4, 1, 2, 0))
    return case


CAPACITY = {"training_done": True, "legal_review_arrangement": "justice_bureau"}


def test_officers_without_a_registered_certificate_cannot_sign_off_capacity(
    operating: township.Case,
) -> None:
    case = operating
    task = case.task("confirm_capacity_building", "township_officer")
    names = {**CAPACITY, "certified_officers": ["阿某", "王某"]}
    uncertified = {**CAPACITY, "certified_officers": ["yingjisha_officer1", "wuqia_officer1"]}

    by_name = refused_task(case.session, task, "yingjisha_officer1", names, case.clock.now)
    elsewhere = refused_task(case.session, task, "yingjisha_officer1", uncertified, case.clock.now)

    first = sorted(names["certified_officers"])[0]
    assert by_name == {"certified_officers": f"{first}: 用户不存在或已停用"}
    assert elsewhere == {"certified_officers": "wuqia_officer1: 不是 TWP-YINGJISHA 的执法人员"}
    case.do(
        "confirm_capacity_building",
        "township_officer",
        {**CAPACITY, "certified_officers": township.TOWNSHIP_OFFICERS},
    )


def test_the_annual_evaluation_of_a_period_is_done_once(operating: township.Case) -> None:
    case = operating
    case.do(
        "confirm_capacity_building",
        "township_officer",
        {**CAPACITY, "certified_officers": township.TOWNSHIP_OFFICERS},
    )
    case.at(township.utc(2026, 9, 30, 2, 0))
    township.evaluate(case, "adequate")
    again = case.task("annual_evaluation", "op_justice_coordinator")
    case.at(township.utc(2026, 9, 30, 2, 1))
    form = {
        "evaluation_period": "2026年度 ",
        "cases_per_item": "SCJG-CF-0101: 12",
        "complaints": 0,
        "overturned": 0,
        "evaluation_rating": "adequate",
        "recommendations": "继续",
    }

    errors = refused_task(case.session, again, "sfj_coordinator", form, case.clock.now)

    assert errors == {"evaluation_period": "评估期间「2026年度 」已经办理过, 同一期间只能办理一次"}
    township.evaluate(case, "adequate", period="2027年度")
