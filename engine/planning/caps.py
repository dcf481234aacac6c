"""Yearly inspection-frequency caps (DOMAIN.md C1 step 6, C-T5): counting and checking.

Counts come from inspection_history; an entity is capped for a draw when one more
inspection by any of the drawing agencies would exceed a cap of the year's plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.planning.models import AnnualPlan
from engine.planning.models import InspectionHistory


@dataclass(frozen=True)
class CapHit:
    """One cap an entity has reached: `agency` is None for the all-agencies cap."""

    credit_code: str
    agency: str | None
    count: int
    cap: int

    def as_dict(self) -> dict[str, object]:
        """The hit without its credit code, for lists already keyed by entity."""
        return {"agency": self.agency, "count": self.count, "cap": self.cap}


def yearly_counts(session: Session, year: int) -> dict[str, Counter[str]]:
    """Inspections so far in `year`: credit code -> agency code -> count."""
    stmt = (
        select(InspectionHistory.credit_code, InspectionHistory.agency_code, func.count())
        .where(InspectionHistory.day >= date(year, 1, 1))
        .where(InspectionHistory.day <= date(year, 12, 31))
        .group_by(InspectionHistory.credit_code, InspectionHistory.agency_code)
    )
    counts: dict[str, Counter[str]] = {}
    for code, agency, number in session.execute(stmt):
        counts.setdefault(code, Counter())[agency] = number
    return counts


def hits_for(
    credit_code: str, by_agency: Counter[str], agencies: Iterable[str], plan: AnnualPlan
) -> list[CapHit]:
    """The caps `credit_code` has already reached for a new inspection by `agencies`."""
    hits = [
        CapHit(credit_code, agency, by_agency[agency], plan.cap_per_agency_per_entity)
        for agency in sorted(set(agencies))
        if by_agency[agency] >= plan.cap_per_agency_per_entity
    ]
    total = sum(by_agency.values())
    cap_all = plan.cap_all_agencies_per_entity
    if cap_all is not None and total >= cap_all:
        hits.append(CapHit(credit_code, None, total, cap_all))
    return hits


def capped_entities(
    session: Session, codes: Iterable[str], agencies: Iterable[str], plan: AnnualPlan
) -> dict[str, list[CapHit]]:
    """Of `codes`, those at a cap of `plan`, with the caps they reached."""
    counts = yearly_counts(session, plan.year)
    agency_list = list(agencies)
    result: dict[str, list[CapHit]] = {}
    for code in codes:
        hits = hits_for(code, counts.get(code, Counter()), agency_list, plan)
        if hits:
            result[code] = hits
    return result
