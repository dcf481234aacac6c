"""Authorization: the single place deciding who may see an instance or act on a task.

Visibility rules:
- a confidential instance (discipline referral) is need-to-know: visible to the head and the
  discipline liaison of the organization that started it, to the users of a
  discipline_commission organization once a task was routed to it (it received the clue),
  and to the users named on the instance's access list (InstanceReader, engine.people.readers);
  admins, coordinators and other commissions do not see it. The user who reported the clue
  follows its status (engine.cases.referrals), not the instance. Every read of one is
  audited (`record_confidential_read`, or `get_visible_instance` which does it);
- otherwise admins and coordinators see every instance;
- any other user sees the instances their organization started or takes part in
  (InstanceParty), and township users also those of their township (township_code).
Inactive users see nothing. `visible_instances` and `can_view_instance` share one SQL clause.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import NotFound
from engine.models import HumanTask
from engine.models import InstanceParty
from engine.models import InstanceReader
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User

CONFIDENTIAL_READ = "confidential_read"
CONFIDENTIAL_ROLES = frozenset({Role.HEAD, Role.DISCIPLINE_LIAISON})
SEE_ALL_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})


def _is_discipline_commission(user: User) -> bool:
    return user.organization.type == OrgType.DISCIPLINE_COMMISSION


def _party_clause(user: User) -> ColumnElement[bool]:
    return exists().where(
        InstanceParty.instance_id == ProcessInstance.id,
        InstanceParty.org_code == user.org_code,
    )


def _confidential_clause(user: User) -> ColumnElement[bool]:
    listed = exists().where(
        InstanceReader.instance_id == ProcessInstance.id,
        InstanceReader.username == user.username,
    )
    if _is_discipline_commission(user):
        # A commission becomes a party when the referral's receipt task is routed to it.
        return or_(listed, _party_clause(user))
    if user.role in CONFIDENTIAL_ROLES:
        return or_(listed, ProcessInstance.started_org == user.org_code)
    return listed


def _open_clause(user: User) -> ColumnElement[bool]:
    if user.role in SEE_ALL_ROLES:
        return true()
    conditions: list[ColumnElement[bool]] = [
        ProcessInstance.started_org == user.org_code,
        _party_clause(user),
    ]
    if user.organization.type == OrgType.TOWNSHIP:
        conditions.append(ProcessInstance.township_code == user.org_code)
    return or_(*conditions)


def visibility_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause over ProcessInstance keeping the instances the user may see."""
    if not user.active:
        return false()
    return or_(
        and_(ProcessInstance.confidential.is_(True), _confidential_clause(user)),
        and_(ProcessInstance.confidential.is_not(True), _open_clause(user)),
    )


def visible_instances(session: Session, user: User) -> Select[ProcessInstance]:
    """SELECT of the instances the user may see, for list pages to filter and order further.

    Listing does not audit confidential reads; opening one does (`get_visible_instance`).
    """
    return select(ProcessInstance).where(visibility_clause(user))


def _visible_from_row(user: User, instance: ProcessInstance) -> bool:
    """The clauses of `visibility_clause` that the instance row alone decides (no query)."""
    if instance.confidential:
        return (
            not _is_discipline_commission(user)
            and user.role in CONFIDENTIAL_ROLES
            and instance.started_org == user.org_code
        )
    if user.role in SEE_ALL_ROLES or instance.started_org == user.org_code:
        return True
    return user.organization.type == OrgType.TOWNSHIP and instance.township_code == user.org_code


def can_view_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Whether the user may see the instance (does not audit; see get_visible_instance).

    The row answers the common cases; parties and access lists take one query.
    """
    if not user.active:
        return False
    if _visible_from_row(user, instance):
        return True
    stmt = select(ProcessInstance.id).where(
        ProcessInstance.id == instance.id, visibility_clause(user)
    )
    return session.scalar(stmt) is not None


def record_confidential_read(session: Session, user: User, instance: ProcessInstance) -> None:
    """Audit that the user read a confidential instance (no-op for other instances)."""
    if not instance.confidential:
        return
    audit.lock_chain(session, instance.id)
    row = audit.event_row(
        instance_id=instance.id,
        kind=CONFIDENTIAL_READ,
        actor=user.username,
        at=datetime.now(UTC),
        detail={"user_id": user.id, "org_code": user.org_code, "role": str(user.role)},
    )
    audit.append_events(session, [row])


def get_visible_instance(session: Session, user: User, instance_id: int) -> ProcessInstance:
    """The instance if the user may see it, auditing confidential reads.

    Raises:
        NotFound: no such instance, or the user may not see it (the two look the same so
            that a forbidden page leaks nothing, not even that the instance exists).
    """
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not can_view_instance(session, user, instance):
        raise NotFound(f"instance {instance_id} not found")
    record_confidential_read(session, user, instance)
    return instance


def can_act_on_task(user: User, task: HumanTask) -> bool:
    """Whether the user may complete the open task in their own name.

    An assigned task belongs to its assignee; an unassigned one to every active user of the
    task's organization holding the task's role.
    """
    if not user.active or task.status != TaskStatus.OPEN:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return task.org_code == user.org_code and task.role is not None and task.role == user.role


def can_act_on_behalf(user: User, task: HumanTask) -> bool:
    """Whether a head may complete an officer's open task of their organization for them.

    Acting on behalf always needs a stated reason; the caller records it.
    """
    return (
        user.active
        and task.status == TaskStatus.OPEN
        and user.role == Role.HEAD
        and task.role == Role.OFFICER
        and task.org_code == user.org_code
    )


def acting_orgs(user: User) -> frozenset[str]:
    """The organizations a user may name as the acting side of a form (lead, sender, owner).

    A user acts for their own organization only: acting on behalf of a colleague
    (`can_act_on_behalf`) stays inside it, and no role speaks for another organization.
    """
    return frozenset({user.org_code})
