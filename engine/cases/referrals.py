"""The reporter's view of a confidential referral: its status with dates, and nothing more.

The officer who found a misconduct clue follows the referral without seeing it (need-to-know,
engine.people.access). The reporter is the referral's initiator: the user who started it, or
whose submission in an ordinary case started it as a linked child (engine.execution.runner).
The stages come from the instance's dates and from the completion times of the tasks that
process.json names in `reporter_milestones` (`transferred`, `received`): never from its data,
its tasks' contents or the commission's internal steps. Every status read is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import NotFound
from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.models import User
from engine.people import access

REPORTER_READ = "reporter_status_read"
MILESTONES_KEY = "reporter_milestones"


class ReferralStage(StrEnum):
    REGISTERED = "registered"
    TRANSFERRED = "transferred"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


@dataclass(frozen=True)
class ReferralStatus:
    """What the reporter sees: the referral's number, stage and the date of each stage."""

    instance_id: int
    title: str
    registered_at: datetime
    transferred_at: datetime | None
    received_at: datetime | None
    closed_at: datetime | None

    @property
    def stage(self) -> ReferralStage:
        if self.closed_at is not None:
            return ReferralStage.CLOSED
        if self.received_at is not None:
            return ReferralStage.UNDER_REVIEW
        if self.transferred_at is not None:
            return ReferralStage.TRANSFERRED
        return ReferralStage.REGISTERED


def is_reporter(user: User, instance: ProcessInstance) -> bool:
    """Whether the user reported the confidential instance's clue (and may follow it)."""
    return bool(
        user.active
        and instance.confidential
        and instance.started_by_id is not None
        and instance.started_by_id == user.id
    )


def _milestone(session: Session, instance: ProcessInstance, name: str) -> datetime | None:
    bpmn_ids = (instance.definition.manifest.get(MILESTONES_KEY) or {}).get(name) or []
    if not bpmn_ids:
        return None
    stmt = select(func.min(HumanTask.completed_at)).where(
        HumanTask.instance_id == instance.id,
        HumanTask.bpmn_id.in_(bpmn_ids),
        HumanTask.status == TaskStatus.COMPLETED,
    )
    return session.scalar(stmt)


def _status(session: Session, instance: ProcessInstance) -> ReferralStatus:
    closed = instance.completed_at if instance.status == InstanceStatus.COMPLETED else None
    return ReferralStatus(
        instance_id=instance.id,
        title=instance.title,
        registered_at=instance.started_at,
        transferred_at=_milestone(session, instance, "transferred"),
        received_at=_milestone(session, instance, "received"),
        closed_at=closed,
    )


def get_referral_status(session: Session, user: User, instance_id: int) -> ReferralStatus:
    """The status of a referral the user reported, auditing the read.

    Raises:
        NotFound: no such instance, or the user did not report it (indistinguishable).
    """
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not is_reporter(user, instance):
        raise NotFound(f"referral {instance_id} not found")
    audit.lock_chain(session, instance.id)
    row = audit.event_row(
        instance_id=instance.id,
        kind=REPORTER_READ,
        actor=user.username,
        at=datetime.now(UTC),
        detail={"user_id": user.id, "org_code": user.org_code},
    )
    audit.append_events(session, [row])
    return _status(session, instance)


def list_reported_referrals(session: Session, user: User) -> list[ReferralStatus]:
    """The referrals the user reported, newest first (listing is not audited)."""
    if not user.active:
        return []
    stmt = (
        select(ProcessInstance)
        .where(ProcessInstance.confidential.is_(True), ProcessInstance.started_by_id == user.id)
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
    )
    return [_status(session, instance) for instance in session.scalars(stmt)]


@dataclass(frozen=True)
class ReferralNote:
    """A confidential child as an ordinary case shows it: number, time and where to follow it.

    `follow` is "instance" when the user may open the referral, "status" when they reported
    it, None otherwise (the note alone: 问题线索已移送, number and time).
    """

    instance_id: int
    started_at: datetime
    follow: str | None


def referral_notes(
    session: Session, user: User, children: Sequence[ProcessInstance]
) -> list[ReferralNote]:
    """The confidential children of a case, each with how far the user may follow it."""
    notes = []
    for child in children:
        if not child.confidential:
            continue
        follow = None
        if access.can_view_instance(session, user, child):
            follow = "instance"
        elif is_reporter(user, child):
            follow = "status"
        notes.append(ReferralNote(child.id, child.started_at, follow))
    return notes
