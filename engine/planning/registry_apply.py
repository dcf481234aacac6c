"""Writing checked registry rows into the tables (upserts); `registry` checks them first.

Each applier takes rows that already passed every check and returns (created, updated).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Certificate
from engine.models import User
from engine.planning.models import CreditGrade
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionMethod
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.models import RiskGrade
from engine.planning.townships import TOWNSHIP_CODE_BY_NAME

Row = dict[str, str]


def split_list(value: str) -> list[str]:
    """Items of a `;`-separated cell, stripped, blanks dropped."""
    return [part.strip() for part in value.split(";") if part.strip()]


def apply_objects(session: Session, rows: Sequence[Row]) -> tuple[int, int]:
    created = updated = 0
    for row in rows:
        obj = session.get(InspectionObject, row["credit_code"])
        if obj is None:
            obj = InspectionObject(credit_code=row["credit_code"])
            session.add(obj)
            created += 1
        else:
            updated += 1
        obj.name = row["name"]
        obj.township_code = TOWNSHIP_CODE_BY_NAME[row["township"]]
        obj.industry = row["industry"]
        obj.risk_grade = RiskGrade(row["risk_grade"])
        obj.credit_grade = CreditGrade(row["credit_grade"])
        obj.active = True
    return created, updated


def apply_items(session: Session, rows: Sequence[Row]) -> tuple[int, int]:
    created = updated = 0
    for row in rows:
        item = session.scalar(
            select(InspectionItem).filter_by(
                agency_code=row["agency_code"], item_code=row["item_code"], version=row["version"]
            )
        )
        if item is None:
            item = InspectionItem(
                agency_code=row["agency_code"], item_code=row["item_code"], version=row["version"]
            )
            session.add(item)
            created += 1
        else:
            updated += 1
        item.name = row["name"]
        item.legal_basis = row["legal_basis"]
        item.method = InspectionMethod(row["method"])
        item.field = row["field"]
    return created, updated


def apply_inspectors(session: Session, rows: Sequence[Row]) -> tuple[int, int]:
    created = updated = 0
    for row in rows:
        user = session.scalars(select(User).filter_by(username=row["username"])).one()
        certificate = session.scalar(select(Certificate).filter_by(number=row["certificate_no"]))
        if certificate is None:
            certificate = Certificate(user_id=user.id, number=row["certificate_no"])
            session.add(certificate)
            created += 1
        else:
            updated += 1
        certificate.fields = split_list(row["fields"])
        certificate.valid_until = date.fromisoformat(row["valid_until"])
        _replace_conflicts(session, user.id, split_list(row["conflicts"]))
    return created, updated


def _replace_conflicts(session: Session, user_id: int, credit_codes: list[str]) -> None:
    session.execute(delete(InspectorConflict).where(InspectorConflict.user_id == user_id))
    for code in sorted(set(credit_codes)):
        session.add(InspectorConflict(user_id=user_id, credit_code=code))


APPLIERS: dict[str, Callable[[Session, Sequence[Row]], tuple[int, int]]] = {
    "objects": apply_objects,
    "items": apply_items,
    "inspectors": apply_inspectors,
}
