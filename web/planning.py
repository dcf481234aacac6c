"""Joint-inspection planning pages (双随机、一公开) for agencies and the justice bureau.

- 抽查计划: annual plans with their caps and the joint-inspection items, read-only;
- 超频次许可: the justice bureau lets an entity at its yearly cap be drawn (reason required);
- 抽取记录: draw records, visible to the organizations that took part, coordinators and the
  justice bureau; the detail page shows seed, algorithm, candidate hash, parameters, result,
  recusals and cap overrides;
- public verification (`/draws/<id>/verify`, no login): the draw is replayed from its seed
  and frozen candidates and the page says whether it matches the stored result. Drawn
  entities (name, credit code) are public results; inspectors are shown by name and unit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer
from werkzeug.wrappers import Response

from engine.errors import DomainRuleViolation
from engine.errors import NotFound
from engine.models import User
from engine.planning import caps
from engine.planning import drawing
from engine.planning import service
from engine.planning.models import AnnualPlan
from engine.planning.models import CapOverride
from engine.planning.models import DrawRecord
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionObject
from web.auth import current_user
from web.filters import LOCAL_TZ
from web.planning_display import DRAW_KIND_LABELS
from web.planning_display import FILTER_LABELS
from web.planning_display import METHOD_LABELS
from web.planning_display import RISK_GRADE_LABELS
from web.planning_display import draw_view
from web.planning_display import drawn_objects
from web.planning_display import is_justice_bureau
from web.planning_display import may_see_draw
from web.planning_display import may_use_planning
from web.planning_display import org_names
from web.planning_display import participants
from web.planning_display import sees_all_draws
from web.planning_display import team_members
from web.planning_display import township_names
from web.planning_display import verify_reasons
from web.session import get_session

logger = logging.getLogger(__name__)

bp = Blueprint("planning", __name__)

PUBLIC_ENDPOINTS = frozenset({"planning.verify"})
DRAWS_PER_PAGE = 50

MESSAGES: Mapping[str, str] = {
    "override_granted": "已准许 {name} 在 {year} 年超出检查频次上限被抽取。",
    "year": "请填写正确的年份。",
    "credit_code": "检查对象名录库中没有该统一社会信用代码。",
    "reason": "请填写准许超出频次上限的理由。",
    "override_exists": "该检查对象在该年度已有超频次许可。",
}


@bp.before_request
def require_planning_user() -> None:
    """Every page but the public verification needs an agency, township or bureau user."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    user = current_user()
    if user is None or not may_use_planning(user):
        abort(403)


def _signed_in() -> User:
    user = current_user()
    if user is None:
        abort(401)
    return user


def _this_year() -> int:
    return datetime.now(LOCAL_TZ).year


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


@bp.get("/plans")
def plans() -> str:
    db, user = get_session(), _signed_in()
    year = _int_arg("year", _this_year())
    joint = service.list_joint_items(db, year)
    ids = {item_id for entry in joint for item_id in entry.item_ids}
    items = db.scalars(select(InspectionItem).where(InspectionItem.id.in_(ids)))
    overrides = db.scalars(
        select(CapOverride).where(CapOverride.year == year).order_by(CapOverride.granted_at)
    ).all()
    return render_template(
        "planning/plans.html",
        year=year,
        plan=db.scalar(select(AnnualPlan).where(AnnualPlan.year == year)),
        years=db.scalars(select(AnnualPlan.year).order_by(AnnualPlan.year.desc())).all(),
        joint_items=joint,
        items={item.id: item for item in items},
        names=org_names(db),
        overrides=overrides,
        object_names=_object_names(db, [o.credit_code for o in overrides]),
        may_override=is_justice_bureau(user),
        risk_labels=RISK_GRADE_LABELS,
        method_labels=METHOD_LABELS,
    )


def _object_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    query = select(InspectionObject.credit_code, InspectionObject.name).where(
        InspectionObject.credit_code.in_(list(codes))
    )
    return {code: name for code, name in session.execute(query)}


def _require_justice_bureau() -> User:
    user = _signed_in()
    if not is_justice_bureau(user):
        abort(403)
    return user


@dataclass(frozen=True)
class CappedEntity:
    """An entity that reached a yearly cap, with the caps it reached."""

    credit_code: str
    name: str
    hits: list[caps.CapHit]
    overridden: bool


def capped_for_year(session: Session, year: int) -> list[CappedEntity]:
    """Entities at a cap of the year's plan for some agency or in total (none without a plan)."""
    plan = session.scalar(select(AnnualPlan).where(AnnualPlan.year == year))
    if plan is None:
        return []
    counts = caps.yearly_counts(session, year)
    found = {code: caps.hits_for(code, by, list(by), plan) for code, by in counts.items()}
    hit = {code: hits for code, hits in found.items() if hits}
    names = _object_names(session, hit)
    granted = set(session.scalars(select(CapOverride.credit_code).where(CapOverride.year == year)))
    return [
        CappedEntity(code, names.get(code, ""), hits, code in granted)
        for code, hits in sorted(hit.items())
    ]


def _render_override(
    errors: Mapping[str, str], form: Mapping[str, str], status: int = 200
) -> tuple[str, int]:
    db = get_session()
    year = int(form["year"]) if form.get("year", "").isdigit() else _this_year()
    page = render_template(
        "planning/cap_override.html",
        errors=errors,
        form=form,
        year=year,
        years=db.scalars(select(AnnualPlan.year).order_by(AnnualPlan.year.desc())).all(),
        capped=capped_for_year(db, year),
        names=org_names(db),
    )
    return page, status


@bp.get("/plans/cap-overrides/new")
def cap_override_form() -> tuple[str, int]:
    _require_justice_bureau()
    form = {
        "year": request.args.get("year", str(_this_year())),
        "credit_code": request.args.get("credit_code", ""),
    }
    return _render_override({}, form)


def _override_errors(session: Session, form: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    if not form["year"].isdigit():
        errors["year"] = MESSAGES["year"]
    if session.get(InspectionObject, form["credit_code"]) is None:
        errors["credit_code"] = MESSAGES["credit_code"]
    elif form["year"].isdigit() and session.scalar(
        select(CapOverride.id).filter_by(year=int(form["year"]), credit_code=form["credit_code"])
    ):
        errors["credit_code"] = MESSAGES["override_exists"]
    if not form["reason"]:
        errors["reason"] = MESSAGES["reason"]
    return errors


@bp.post("/plans/cap-overrides")
def cap_override_submit() -> tuple[str, int] | Response:
    user = _require_justice_bureau()
    db = get_session()
    form = {key: request.form.get(key, "").strip() for key in ("year", "credit_code", "reason")}
    errors = _override_errors(db, form)
    if errors:
        return _render_override(errors, form, 400)
    try:
        override = service.override_cap(
            db,
            actor=user.username,
            year=int(form["year"]),
            credit_code=form["credit_code"],
            reason=form["reason"],
        )
    except DomainRuleViolation:
        return _render_override({"reason": MESSAGES["reason"]}, form, 400)
    except NotFound:
        return _render_override({"credit_code": MESSAGES["credit_code"]}, form, 400)
    name = _object_names(db, [override.credit_code]).get(override.credit_code, "")
    db.commit()
    flash(MESSAGES["override_granted"].format(name=name, year=override.year), "success")
    return redirect(url_for("planning.plans", year=override.year))


def visible_draws(session: Session, user: User) -> list[DrawRecord]:
    """Draw records the user may see, newest first (candidate lists are not loaded)."""
    records = session.scalars(
        select(DrawRecord).options(defer(DrawRecord.candidates)).order_by(DrawRecord.id.desc())
    ).all()
    by_id = {record.id: record for record in records}
    return [
        record for record in records if may_see_draw(user, record, by_id.get(record.parent_id or 0))
    ]


@bp.get("/draws")
def draws() -> str:
    db, user = get_session(), _signed_in()
    records = visible_draws(db, user)
    page = max(1, _int_arg("page", 1))
    pages = max(1, -(-len(records) // DRAWS_PER_PAGE))
    page = min(page, pages)
    shown = records[(page - 1) * DRAWS_PER_PAGE : page * DRAWS_PER_PAGE]
    return render_template(
        "planning/draws.html",
        records=shown,
        total=len(records),
        page=page,
        pages=pages,
        names=org_names(db),
        kind_labels=DRAW_KIND_LABELS,
        participants={record.id: sorted(participants(record)) for record in shown},
        sees_all=sees_all_draws(user),
    )


def _visible_record(session: Session, user: User, record_id: int) -> DrawRecord:
    """The record, or 404 when it does not exist or the user may not see it."""
    try:
        record = drawing.get_draw_record(session, record_id)
    except NotFound:
        abort(404)
    parent = session.get(DrawRecord, record.parent_id) if record.parent_id else None
    if not may_see_draw(user, record, parent):
        abort(404)
    return record


@bp.get("/draws/<int:record_id>")
def draw(record_id: int) -> str:
    db, user = get_session(), _signed_in()
    record = _visible_record(db, user, record_id)
    children = db.scalars(
        select(DrawRecord).where(DrawRecord.parent_id == record.id).order_by(DrawRecord.id)
    ).all()
    return render_template(
        "planning/draw.html",
        view=draw_view(db, record),
        children=children,
        filter_labels=FILTER_LABELS,
        township_names=township_names(),
        risk_labels=RISK_GRADE_LABELS,
        kind_labels=DRAW_KIND_LABELS,
    )


@bp.get("/draws/<int:record_id>/verify")
def verify(record_id: int) -> str:
    db = get_session()
    try:
        record = drawing.get_draw_record(db, record_id)
    except NotFound:
        abort(404)
    outcome = drawing.verify_draw(db, record.id)
    return render_template(
        "planning/verify.html",
        view=draw_view(db, record),
        outcome=outcome,
        reasons=verify_reasons(outcome.reasons),
        expected_objects=drawn_objects(record, outcome.expected),
        expected_teams=team_members(db, outcome.expected),
    )
