"""ORM tables of joint-inspection planning: the 一单两库 registries, plans, draws, history.

Inspectors are users with a Certificate (engine.models); this module adds their declared
conflicts and unavailable days. No business rules live here.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from engine.db import Base
from engine.models import UTCDateTime
from engine.models import utcnow


class InspectionMethod(StrEnum):
    SITE = "site"
    WRITTEN = "written"
    REMOTE = "remote"


class RiskGrade(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class CreditGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class DrawKind(StrEnum):
    OBJECTS = "objects"
    INSPECTORS = "inspectors"


class InspectionItem(Base):
    """One entry of an agency's inspection items list (行政检查事项清单)."""

    __tablename__ = "inspection_item"
    __table_args__ = (UniqueConstraint("agency_code", "item_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    item_code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(Text)
    method: Mapped[InspectionMethod] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))


class InspectionObject(Base):
    """One entity of the inspection-object database (检查对象名录库)."""

    __tablename__ = "inspection_object"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    township_code: Mapped[str] = mapped_column(String(40), index=True)
    industry: Mapped[str] = mapped_column(String(60), index=True)
    risk_grade: Mapped[RiskGrade] = mapped_column(String(10))
    credit_grade: Mapped[CreditGrade] = mapped_column(String(1))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InspectorConflict(Base):
    """A declared conflict of interest: the inspector must not inspect this entity."""

    __tablename__ = "inspector_conflict"
    __table_args__ = (UniqueConstraint("user_id", "credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")


class InspectorUnavailability(Base):
    """A day an inspector declared unavailable (leave, training, court)."""

    __tablename__ = "inspector_unavailability"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")


class InspectorAssignment(Base):
    """An inspector drawn onto a team for a given day; makes the day busy for scheduling."""

    __tablename__ = "inspector_assignment"
    __table_args__ = (UniqueConstraint("user_id", "day", "draw_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    draw_record_id: Mapped[int] = mapped_column(ForeignKey("draw_record.id"), index=True)


class AnnualPlan(Base):
    """A county's annual inspection plan with its frequency caps (DOMAIN.md C1 step 6)."""

    __tablename__ = "annual_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    cap_per_agency_per_entity: Mapped[int] = mapped_column(Integer)
    cap_all_agencies_per_entity: Mapped[int | None] = mapped_column(Integer)
    # Upper bound of one draw, as a share of the eligible candidates.
    sampling_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JointItem(Base):
    """An entry of the joint-inspection items list (联合检查事项清单): one lead, its partners."""

    __tablename__ = "joint_item"
    __table_args__ = (UniqueConstraint("year", "object_category", "matter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    object_category: Mapped[str] = mapped_column(String(60))
    matter: Mapped[str] = mapped_column(String(200))
    lead_agency: Mapped[str] = mapped_column(String(40))
    participating_agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    item_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class CapOverride(Base):
    """A justice-bureau decision letting an entity over its yearly cap be drawn (C-T5)."""

    __tablename__ = "cap_override"
    __table_args__ = (UniqueConstraint("year", "credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(80))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InspectionHistory(Base):
    """One agency's inspection of one entity on one day; counts toward caps."""

    __tablename__ = "inspection_history"
    __table_args__ = (UniqueConstraint("credit_code", "agency_code", "day", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class DrawRecord(Base):
    """抽取记录: the frozen candidates, the seed and the result of one random draw."""

    __tablename__ = "draw_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DrawKind] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("draw_record.id"), index=True)
    seed: Mapped[str] = mapped_column(String(128))
    algorithm_version: Mapped[str] = mapped_column(String(40))
    candidates: Mapped[Any] = mapped_column(JSON)
    candidate_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[Any | None] = mapped_column(JSON)
    operator: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
