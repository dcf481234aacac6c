"""Admin pages for the annual inspection plans and the joint-inspection items (双随机、一公开)."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine.errors import DomainRuleViolation
from engine.planning import service
from engine.planning.models import AnnualPlan
from engine.planning.models import CapOverride
from engine.planning.models import InspectionItem
from engine.planning.models import JointItem
from web.admin.registries import MESSAGES
from web.admin.registries import this_year
from web.planning_display import RISK_GRADE_LABELS
from web.planning_display import org_names
from web.session import get_session

PLAN_FIELDS = ("year", "title", "cap_per_agency", "cap_all_agencies", "sampling_ratio")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/registries/joint-items", "registry_joint_items", joint_items_page)
    bp.add_url_rule(
        "/registries/joint-items",
        "registry_joint_item_create",
        joint_item_create,
        methods=["POST"],
    )
    bp.add_url_rule("/registries/plans", "registry_plans", plans_page, methods=["GET"])
    bp.add_url_rule("/registries/plans", "registry_plan_create", plan_create, methods=["POST"])


def _year_arg() -> int:
    try:
        return int(request.args.get("year", ""))
    except ValueError:
        return this_year()


def _render_joint(
    year: int, errors: Mapping[str, str], form: Mapping[str, Any], status: int = 200
) -> tuple[str, int]:
    db = get_session()
    items = db.scalars(
        select(InspectionItem).order_by(InspectionItem.agency_code, InspectionItem.item_code)
    ).all()
    grouped: dict[str, list[InspectionItem]] = {}
    for item in items:
        grouped.setdefault(item.agency_code, []).append(item)
    page = render_template(
        "admin/registries/joint_items.html",
        year=year,
        years=db.scalars(select(AnnualPlan.year).order_by(AnnualPlan.year.desc())).all(),
        joint_items=service.list_joint_items(db, year),
        items={item.id: item for item in items},
        grouped=grouped,
        names=org_names(db),
        errors=errors,
        form=form,
    )
    return page, status


def joint_items_page() -> tuple[str, int]:
    return _render_joint(_year_arg(), {}, {})


def _joint_form() -> dict[str, Any]:
    return {
        "year": request.form.get("year", "").strip(),
        "object_category": request.form.get("object_category", "").strip(),
        "matter": request.form.get("matter", "").strip(),
        "lead_agency": request.form.get("lead_agency", "").strip(),
        "agencies": request.form.getlist("agencies"),
        "item_ids": [int(v) for v in request.form.getlist("item_ids") if v.isdigit()],
    }


def _joint_errors(db: Session, form: Mapping[str, Any]) -> dict[str, str]:
    errors = {
        key: MESSAGES[f"joint_{key}"]
        for key in ("year", "object_category", "matter", "lead_agency")
        if not form[key]
    }
    if form["year"] and not form["year"].isdigit():
        errors["year"] = MESSAGES["joint_year"]
    if not errors and db.scalar(
        select(JointItem.id).filter_by(
            year=int(form["year"]), object_category=form["object_category"], matter=form["matter"]
        )
    ):
        errors["matter"] = MESSAGES["joint_exists"]
    return errors


def joint_item_create() -> tuple[str, int] | Response:
    db = get_session()
    form = _joint_form()
    year = int(form["year"]) if form["year"].isdigit() else this_year()
    errors = _joint_errors(db, form)
    if errors:
        return _render_joint(year, errors, form, 400)
    try:
        service.add_joint_item(
            db,
            year=year,
            object_category=form["object_category"],
            matter=form["matter"],
            lead_agency=form["lead_agency"],
            participating_agencies=form["agencies"],
            item_ids=form["item_ids"],
        )
    except DomainRuleViolation:
        return _render_joint(year, {"agencies": MESSAGES["joint_rule"]}, form, 400)
    db.commit()
    flash(MESSAGES["joint_created"].format(matter=form["matter"], year=year), "success")
    return redirect(url_for("admin.registry_joint_items", year=year))


def _render_plans(
    errors: Mapping[str, str], form: Mapping[str, str], status: int = 200
) -> tuple[str, int]:
    db = get_session()
    plans = db.scalars(select(AnnualPlan).order_by(AnnualPlan.year.desc())).all()
    overrides = db.scalars(select(CapOverride).order_by(CapOverride.year.desc(), CapOverride.id))
    by_year: dict[int, list[CapOverride]] = {}
    for override in overrides:
        by_year.setdefault(override.year, []).append(override)
    page = render_template(
        "admin/registries/plans.html",
        plans=plans,
        overrides=by_year,
        errors=errors,
        form=form or {"year": str(_next_plan_year(plans)), "sampling_ratio": "1"},
        risk_labels=RISK_GRADE_LABELS,
    )
    return page, status


def _next_plan_year(plans: Sequence[AnnualPlan]) -> int:
    """The year a new plan is most likely for: after the latest one, else this year."""
    return max([plan.year + 1 for plan in plans] or [this_year()])


def plans_page() -> tuple[str, int]:
    return _render_plans({}, {})


def _number(raw: str, kind: type[int] | type[float]) -> int | float | None:
    try:
        return kind(raw)
    except ValueError:
        return None


def _plan_values(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed plan values and the field errors of the submitted form."""
    values = {
        "year": _number(form["year"], int),
        "cap_per_agency_per_entity": _number(form["cap_per_agency"], int),
        "cap_all_agencies_per_entity": _number(form["cap_all_agencies"], int)
        if form["cap_all_agencies"]
        else None,
        "sampling_ratio": _number(form["sampling_ratio"] or "1", float),
    }
    errors = {}
    if values["year"] is None or not 2000 <= values["year"] <= 2100:
        errors["year"] = MESSAGES["year"]
    if values["cap_per_agency_per_entity"] is None or values["cap_per_agency_per_entity"] < 1:
        errors["cap_per_agency"] = MESSAGES["cap_per_agency"]
    cap_all = values["cap_all_agencies_per_entity"]
    if form["cap_all_agencies"] and (cap_all is None or cap_all < 1):
        errors["cap_all_agencies"] = MESSAGES["cap_all_agencies"]
    ratio = values["sampling_ratio"]
    if ratio is None or not 0 < ratio <= 1:
        errors["sampling_ratio"] = MESSAGES["sampling_ratio"]
    return values, errors


def plan_create() -> tuple[str, int] | Response:
    db = get_session()
    form = {key: request.form.get(key, "").strip() for key in PLAN_FIELDS}
    values, errors = _plan_values(form)
    if not errors and db.scalar(select(AnnualPlan.id).filter_by(year=values["year"])):
        errors["year"] = MESSAGES["plan_exists"]
    if errors:
        return _render_plans(errors, form, 400)
    try:
        service.create_annual_plan(db, title=form["title"], **values)
    except DomainRuleViolation:
        return _render_plans({"cap_per_agency": MESSAGES["plan_rule"]}, form, 400)
    db.commit()
    flash(MESSAGES["plan_created"].format(year=values["year"]), "success")
    return redirect(url_for("admin.registry_plans"))
