"""Demo cases: several instances of every process in flight, some of them overdue.

Each case is started with realistic start data and then driven along its process by an
autopilot that fills every task form from its JSON Schema (choices drawn from a seeded
random generator) and completes it as a user the task is routed to. Cases start weeks
in the past and advance one or two days per step, so that some open tasks are already past
their statutory deadline when the demo opens.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.demo.form_filler import FormFiller
from engine.errors import EngineError
from engine.execution.script_api import LEGAL_TZ
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.planning.models import InspectionObject
from engine.settings import Settings

logger = logging.getLogger(__name__)

STARTERS = {
    "joint_inspection": "scjg_officer1",
    "township_empowerment": "yj_officer1",
    "criminal_transfer": "scjg_officer2",
    "reverse_transfer": "yj_officer2",
    "discipline_referral": "wjw_liaison",
}
# (process id, steps to drive, days ago the case started, hours per step or 0 for 1-3 days)
PLAN: tuple[tuple[str, int, float, int], ...] = (
    ("joint_inspection", 0, 2, 0),
    ("joint_inspection", 3, 12, 0),
    ("joint_inspection", 6, 40, 0),
    ("township_empowerment", 1, 6, 0),
    ("township_empowerment", 4, 45, 0),
    ("criminal_transfer", 2, 9, 0),
    ("criminal_transfer", 4, 3, 0),
    ("criminal_transfer", 7, 30, 0),
    ("criminal_transfer", 5, 3.3, 1),
    ("criminal_transfer", 5, 2.2, 1),
    ("criminal_transfer", 5, 0.5, 1),
    ("reverse_transfer", 1, 70, 0),
    ("reverse_transfer", 3, 20, 0),
    ("reverse_transfer", 2, 50, 0),
    ("discipline_referral", 1, 25, 0),
    ("discipline_referral", 3, 10, 0),
    ("discipline_referral", 5, 13, 40),
)
MAX_FORM_ATTEMPTS = 4


def _start_data(process_id: str, index: int, day: datetime, codes: list[str]) -> dict[str, Any]:
    local = day.astimezone(LEGAL_TZ)
    case_no = f"英市监罚〔{local.year}〕{100 + index}号"
    data: dict[str, dict[str, Any]] = {
        "joint_inspection": {
            "inspection_title": f"{local.year}年餐饮和危化品经营单位综合查一次（第{index + 1}批）",
            "lead_org": "YJS-SCJG",
            "lead_field": "market_regulation",
            "participants": {
                "YJS-YJ": {"org": "YJS-YJ", "field": "work_safety"},
                "YJS-WJW": {"org": "YJS-WJW", "field": "health"},
            },
            "selection_mode": "random",
            "object_count": 3,
            "object_filters": {},
            "inspection_year": local.year,
            "window_start": (local + timedelta(days=5)).date().isoformat(),
            "window_end": (local + timedelta(days=35)).date().isoformat(),
        },
        "township_empowerment": {
            "delegation_title": "安全生产领域部分行政处罚事项下放乡镇",
            "dept_org": "YJS-YJ",
            "township_org": "TWP-YINGJISHA" if index % 2 else "TWP-WUQIA",
            "items": [
                {
                    "item_code": "YJ-CF-012",
                    "item_name": "对生产经营单位未按规定开展隐患排查的处罚",
                    "item_type": "penalty",
                    "legal_basis": "《中华人民共和国安全生产法》第一百零二条",
                }
            ],
            "proposal_reason": "基层迫切需要、高频多发、易发现易处置",
            "planned_legal_form": "entrust",
        },
        "criminal_transfer": {
            "agency_org": "YJS-SCJG",
            "case_no": case_no,
            "party_name": "英吉沙县某食品商行",
            "party_credit_code": codes[index % len(codes)] if codes else "",
            "summary": "销售明知是不符合食品安全标准的食品，涉案货值金额超过立案追诉标准",
            "suspected_offence": "生产、销售不符合安全标准的食品罪",
            "amount_involved": 58000,
            "urgent": index % 2 == 0,
        },
        "reverse_transfer": {
            "agency_org": "YJS-YJ",
            "source": "procuratorate",
            "opinion_no": f"英检行意〔{local.year}〕{index + 3}号",
            "received_at": day.isoformat(),
            "person_name": "某建材经营部",
            "facts_summary": "检察机关对被不起诉人作出不起诉决定，建议依法给予行政处罚",
            "non_prosecution_decision_no": f"英检刑不诉〔{local.year}〕{index + 7}号",
        },
        "discipline_referral": {
            "agency_org": "YJS-WJW",
            "clue_source": "case",
            "person_name": "某卫生监督员",
            "person_unit": "英吉沙县卫生健康委员会",
            "summary": "执法检查中发现工作人员涉嫌收受当事人财物、对违法行为不予查处",
            "discovered_at": day.isoformat(),
            "clue_no": f"线索〔{local.year}〕{index + 1}号",
        },
    }
    return data[process_id]


def _users(session: Session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User).where(User.active.is_(True)))}


def _actor_for(task: HumanTask, users: Mapping[str, User]) -> User | None:
    if task.assignee_id is not None:
        return next((u for u in users.values() if u.id == task.assignee_id), None)
    candidates = sorted(
        (u for u in users.values() if u.org_code == task.org_code and u.role == task.role),
        key=lambda u: u.username,
    )
    return candidates[0] if candidates else None


def _drive(
    session: Session,
    instance: ProcessInstance,
    *,
    steps: int,
    start: datetime,
    until: datetime,
    step_hours: int,
    rng: random.Random,
    settings: Settings,
) -> None:
    users = _users(session)
    now = start
    for _ in range(steps):
        task = session.scalar(
            select(HumanTask)
            .where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.OPEN)
            .order_by(HumanTask.id)
            .limit(1)
        )
        actor = _actor_for(task, users) if task is not None else None
        if task is None or actor is None or instance.status != InstanceStatus.RUNNING:
            return
        step = timedelta(hours=step_hours or 24 * rng.choice((1, 2, 3)) + rng.randint(0, 5))
        now = min(now + step, until)
        if not _complete(session, task, actor, now=now, rng=rng, settings=settings):
            return


def _complete(
    session: Session,
    task: HumanTask,
    actor: User,
    *,
    now: datetime,
    rng: random.Random,
    settings: Settings,
) -> bool:
    view = instances.get_task_view(session, task.id)
    for _ in range(MAX_FORM_ATTEMPTS):
        data = FormFiller(rng, _users(session), now).fill(view.schema, task.org_code, view.data)
        try:
            with session.begin_nested():
                instances.complete_task(
                    session, task_id=task.id, data=data, user=actor, settings=settings, now=now
                )
        except EngineError as exc:
            logger.debug("demo task %s refused data: %s", task.bpmn_id, exc.message)
            continue
        return True
    return False


# A transfer approved 18 hours ago: its 24-hour transfer deadline (A1-T3, never moved) is in
# its warning window whatever the time of day, so the demo always shows a yellow light.
APPROVED_TRANSFER_STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "record_crime_suspicion",
        "scjg_officer1",
        {
            "suspected_offence": "销售假冒注册商标的商品罪",
            "amount_involved": 80000,
            "threshold_article": "立案追诉标准（二）第六十九条",
            "is_ip_case": True,
            "reasonable_suspicion_basis": "销售金额已达5万元以上",
            "facts_summary": "查获假冒运动鞋300双",
            "urgent": False,
            "officials_involved": False,
        },
    ),
    (
        "preserve_evidence",
        "scjg_officer1",
        {
            "items": [{"item": "假冒运动鞋", "quantity": "300双", "storage_location": "局仓库"}],
            "sent_for_testing": False,
            "preservation_registered": False,
            "seizure_applied": False,
        },
    ),
    (
        "form_case_team",
        "scjg_officer1",
        {
            "enforcement_field": "market_regulation",
            "case_team": ["scjg_officer1", "scjg_officer2"],
            "team_leader": "scjg_officer1",
        },
    ),
    (
        "draft_transfer_report",
        "scjg_officer1",
        {
            "report_no": "英市监移报〔2026〕8号",
            "facts_found": "销售假冒注册商标的运动鞋",
            "evidence_list": "询问笔录、扣押清单、权利人鉴定意见",
            "amount_involved": 80000,
            "threshold_article": "第六十九条",
            "threshold_analysis": "销售金额已达立案追诉标准",
            "transfer_opinion": "建议移送公安机关",
            "prepared_attachments": ["transfer_letter", "investigation_report", "items_list"],
            "needs_legal_review": False,
        },
    ),
    ("head_decision", "scjg_head", {"transfer_decision": "approve"}),
)


def _seed_approved_transfer(
    session: Session, settings: Settings, users: Mapping[str, User], now: datetime, code: str
) -> None:
    start = now - timedelta(hours=23)
    case = {
        "case_no": f"英市监罚〔{start.astimezone(LEGAL_TZ).year}〕88号",
        "party_name": "英吉沙县某鞋业经营部",
        "party_credit_code": code,
    }
    instance = instances.start_instance(
        session,
        process_id="criminal_transfer",
        data={**case, "agency_org": "YJS-SCJG", "summary": "销售假冒注册商标的运动鞋"},
        user=users["scjg_officer1"],
        settings=settings,
        now=start,
    )
    for hours, (bpmn_id, username, data) in enumerate(APPROVED_TRANSFER_STEPS, start=1):
        task = session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == instance.id,
                HumanTask.bpmn_id == bpmn_id,
                HumanTask.status == TaskStatus.OPEN,
            )
        )
        if task is None:
            logger.warning("demo transfer case stopped before %s", bpmn_id)
            return
        instances.complete_task(
            session,
            task_id=task.id,
            data={**case, **data} if bpmn_id == "record_crime_suspicion" else data,
            user=users[username],
            settings=settings,
            now=start + timedelta(hours=hours),
        )


def seed(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Start and drive the demo cases; returns how many instances were started."""
    now = now or datetime.now(UTC)
    rng = random.Random(653123)  # noqa: S311 - reproducible demo data, not security
    codes = list(session.scalars(select(InspectionObject.credit_code).limit(20)))
    users = _users(session)
    started = 0
    for index, (process_id, steps, days_ago, step_hours) in enumerate(PLAN):
        start = now - timedelta(days=days_ago)
        data = _start_data(process_id, index, start, codes)
        try:
            with session.begin_nested():
                instance = instances.start_instance(
                    session,
                    process_id=process_id,
                    data=data,
                    user=users[STARTERS[process_id]],
                    settings=settings,
                    now=start,
                )
        except EngineError as exc:
            logger.warning("demo case %s could not start: %s", process_id, exc.message)
            continue
        started += 1
        until = now - timedelta(hours=steps)
        _drive(
            session,
            instance,
            steps=steps,
            start=start,
            until=until,
            step_hours=step_hours,
            rng=rng,
            settings=settings,
        )
    with session.begin_nested():
        _seed_approved_transfer(session, settings, users, now, codes[0] if codes else "")
    return started + 1
