"""Session-level functions over the planning registries: plans, joint items, conflicts,
unavailability, cap overrides and the inspection history. They flush, never commit.

The draws themselves live in engine.planning.drawing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from decimal import InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainRuleViolation
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.models import Organization
from engine.models import OrgType
from engine.models import User
from engine.planning.credit_code import credit_code_problem
from engine.planning.draws import DEFAULT_WEIGHTS
from engine.planning.models import AnnualPlan
from engine.planning.models import CapOverride
from engine.planning.models import InspectionHistory
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.models import InspectorUnavailability
from engine.planning.models import JointItem

logger = logging.getLogger(__name__)


def get_user(session: Session, username: str) -> User:
    """Raises: NotFound when no such user exists."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user {username!r} not found")
    return user


def require_plan(session: Session, year: int) -> AnnualPlan:
    """The year's annual plan, which holds the caps every draw must respect.

    Raises:
        DomainRuleViolation: no plan (hence no caps) was set up for `year`.
    """
    plan = session.scalar(select(AnnualPlan).where(AnnualPlan.year == year))
    if plan is None:
        raise DomainRuleViolation(f"no annual plan with frequency caps for {year}")
    return plan


def create_annual_plan(
    session: Session,
    *,
    year: int,
    cap_per_agency_per_entity: int,
    cap_all_agencies_per_entity: int | None = None,
    sampling_ratio: float = 1.0,
    weights: Mapping[str, Mapping[str, str]] | None = None,
    title: str = "",
) -> AnnualPlan:
    """Create the year's plan; weights default to draws.DEFAULT_WEIGHTS.

    Raises:
        DomainRuleViolation: a cap below 1, a ratio outside (0, 1] or a bad weight table.
    """
    caps = [cap_per_agency_per_entity, cap_all_agencies_per_entity or 1]
    if min(caps) < 1:
        raise DomainRuleViolation("frequency caps must be at least 1")
    if not 0 < sampling_ratio <= 1:
        raise DomainRuleViolation("sampling ratio must be in (0, 1]")
    table = {k: dict(v) for k, v in (weights or DEFAULT_WEIGHTS).items()}
    check_weights(table)
    plan = AnnualPlan(
        year=year,
        title=title,
        cap_per_agency_per_entity=cap_per_agency_per_entity,
        cap_all_agencies_per_entity=cap_all_agencies_per_entity,
        sampling_ratio=sampling_ratio,
        weights=table,
    )
    session.add(plan)
    session.flush()
    return plan


def check_weights(weights: Mapping[str, Mapping[str, str]]) -> None:
    """Raises: DomainRuleViolation unless every grade has a positive decimal weight."""
    expected = {"risk": ("low", "medium", "high"), "credit": ("A", "B", "C", "D")}
    for table, grades in expected.items():
        for grade in grades:
            raw = weights.get(table, {}).get(grade)
            try:
                ok = raw is not None and Decimal(str(raw)) > 0
            except InvalidOperation:
                ok = False
            if not ok:
                raise DomainRuleViolation(f"weight {table}.{grade} must be a positive number")


def add_joint_item(
    session: Session,
    *,
    year: int,
    object_category: str,
    matter: str,
    lead_agency: str,
    participating_agencies: Iterable[str],
    item_ids: Iterable[int],
) -> JointItem:
    """Add an entry of the joint-inspection items list (DOMAIN.md C1 step 3).

    Raises:
        DomainRuleViolation: fewer than two agencies, or an item of another agency.
    """
    partners = sorted(set(participating_agencies) - {lead_agency})
    if not partners:
        raise DomainRuleViolation("a joint item needs at least one participating agency")
    ids = sorted(set(item_ids))
    items = list(session.scalars(select(InspectionItem).where(InspectionItem.id.in_(ids))))
    allowed = {lead_agency, *partners}
    if len(items) != len(ids) or any(item.agency_code not in allowed for item in items):
        raise DomainRuleViolation("joint items must be existing items of the lead or partners")
    joint = JointItem(
        year=year,
        object_category=object_category,
        matter=matter,
        lead_agency=lead_agency,
        participating_agencies=partners,
        item_ids=ids,
    )
    session.add(joint)
    session.flush()
    return joint


def list_joint_items(session: Session, year: int) -> list[JointItem]:
    stmt = select(JointItem).where(JointItem.year == year).order_by(JointItem.id)
    return list(session.scalars(stmt))


def declare_conflict(
    session: Session, *, username: str, credit_code: str, reason: str = ""
) -> InspectorConflict:
    """Record that an inspector must recuse from an entity (行政处罚法 Art. 43).

    Raises:
        NotFound: unknown user.
        DomainRuleViolation: invalid credit code.
    """
    problem = credit_code_problem(credit_code)
    if problem:
        raise DomainRuleViolation(f"credit code {credit_code}: {problem}")
    user = get_user(session, username)
    conflict = InspectorConflict(user_id=user.id, credit_code=credit_code, reason=reason)
    session.add(conflict)
    session.flush()
    return conflict


def declare_unavailable(
    session: Session, *, username: str, day: date, reason: str = ""
) -> InspectorUnavailability:
    """Mark a day on which the inspector cannot be drawn or scheduled.

    Raises:
        NotFound: unknown user.
    """
    user = get_user(session, username)
    entry = InspectorUnavailability(user_id=user.id, day=day, reason=reason)
    session.add(entry)
    session.flush()
    return entry


def override_cap(
    session: Session, *, actor: str, year: int, credit_code: str, reason: str
) -> CapOverride:
    """Let an entity at its yearly cap be drawn in `year` (DOMAIN.md C-T5).

    Raises:
        NotAllowed: the actor is not a user of the justice bureau.
        DomainRuleViolation: empty reason.
        NotFound: unknown user or entity.
    """
    user = get_user(session, actor)
    org = session.get(Organization, user.org_code)
    if org is None or org.type != OrgType.JUSTICE_BUREAU:
        raise NotAllowed("only the justice bureau may override an inspection-frequency cap")
    if not reason.strip():
        raise DomainRuleViolation("a cap override needs a reason", {"reason": "required"})
    if session.get(InspectionObject, credit_code) is None:
        raise NotFound(f"inspection object {credit_code} not found")
    override = CapOverride(
        year=year, credit_code=credit_code, reason=reason.strip(), granted_by=actor
    )
    session.add(override)
    session.flush()
    logger.info("cap override for %s in %s by %s: %s", credit_code, year, actor, reason)
    return override


def record_inspection(
    session: Session,
    *,
    credit_codes: Iterable[str],
    agencies: Iterable[str],
    day: date,
    instance_id: int | None,
) -> int:
    """Add one history row per entity and agency; repeats for the same instance are ignored.

    Returns the number of rows added (results are recorded once per agency, C3 step 3).
    """
    added = 0
    for code in sorted(set(credit_codes)):
        for agency in sorted(set(agencies)):
            key = {"credit_code": code, "agency_code": agency, "instance_id": instance_id}
            match = key if instance_id is not None else {**key, "day": day}
            exists = session.scalar(select(InspectionHistory.id).filter_by(**match))
            if exists is None:
                session.add(InspectionHistory(**key, day=day))
                added += 1
    session.flush()
    return added
