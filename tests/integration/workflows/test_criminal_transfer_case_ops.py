"""退回 and 挂起/恢复/终止 on the criminal transfer model, through the engine services."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.cases import instances
from engine.cases import operations
from engine.cases import suspension
from engine.errors import InvalidTaskData
from engine.models import InstanceStatus
from tests.integration.workflows.support import at
from tests.integration.workflows.support import case_clock
from tests.integration.workflows.support import open_task
from tests.integration.workflows.support import user
from tests.integration.workflows.test_criminal_transfer import TEAM
from tests.integration.workflows.test_criminal_transfer import Case
from tests.integration.workflows.test_criminal_transfer import evidence
from tests.integration.workflows.test_criminal_transfer import head
from tests.integration.workflows.test_criminal_transfer import report
from tests.integration.workflows.test_criminal_transfer import start_case
from tests.integration.workflows.test_criminal_transfer import suspicion


def _at_head_decision(session: Session) -> Case:
    case = start_case(session, "2026-03-11T08:30:00+08:00")
    case.do("record_crime_suspicion", suspicion(), "2026-03-11T09:00:00+08:00")
    case.do("preserve_evidence", evidence(), "2026-03-11T09:30:00+08:00")
    case.do("form_case_team", TEAM, "2026-03-11T10:00:00+08:00")
    case.do("draft_transfer_report", report(), "2026-03-12T10:00:00+08:00")
    return case


def test_the_head_sends_the_report_back_and_the_officer_resubmits(county: Session) -> None:
    case = _at_head_decision(county)
    decision = case.expect("head_decision")
    scjg_head = user(county, "scjg_head")
    with pytest.raises(InvalidTaskData):
        operations.return_task(
            county, task_id=decision.id, to="record_crime_suspicion", reason="x", user=scjg_head
        )

    operations.return_task(
        county,
        task_id=decision.id,
        to="draft_transfer_report",
        reason="涉案金额计算依据不足",
        user=scjg_head,
        now=at("2026-03-13T09:00:00+08:00"),
    )

    assert case.open_ids() == ["draft_transfer_report"]
    reopened = case.expect("draft_transfer_report")
    assert instances.get_task_view(county, reopened.id).data["report_no"] == "BG-001"
    notice = operations.return_notice(county, reopened)
    assert notice is not None and notice.detail is not None
    assert notice.detail["reason"] == "涉案金额计算依据不足"
    case.do("draft_transfer_report", report(), "2026-03-13T10:00:00+08:00")
    case.do("head_decision", head("approve"), "2026-03-13T15:47:00+08:00")
    assert "transfer_to_police" in case.open_ids()


def test_suspension_pauses_the_case_clock_and_termination_ends_the_case(county: Session) -> None:
    case = _at_head_decision(county)
    scjg_head = user(county, "scjg_head")
    running = case_clock(county, case.id)
    assert running["started_at"] and not running["pauses"]

    suspension.suspend_instance(
        county,
        instance_id=case.id,
        reason="等待鉴定",
        user=scjg_head,
        now=at("2026-03-13T09:00:00+08:00"),
    )
    assert case.status() == InstanceStatus.SUSPENDED
    assert case_clock(county, case.id)["pauses"][-1][1] is None
    suspension.resume_instance(
        county,
        instance_id=case.id,
        reason="鉴定已到",
        user=scjg_head,
        now=at("2026-03-16T09:00:00+08:00"),
    )
    resumed = case_clock(county, case.id)
    assert resumed["pauses"][-1][1] is not None
    assert case.status() == InstanceStatus.RUNNING
    decision = open_task(county, case.id, "head_decision")

    suspension.terminate_instance(
        county,
        instance_id=case.id,
        reason="已并案处理",
        user=scjg_head,
        now=at("2026-03-16T10:00:00+08:00"),
    )

    assert case.status() == InstanceStatus.TERMINATED
    assert case.open_ids() == []
    county.refresh(decision)
    assert decision.status == "cancelled"
