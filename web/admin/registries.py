"""Admin pages of the planning registries (一单两库): inspection objects, inspection items,
inspectors, joint-inspection items, annual plans with caps, and the CSV/XLSX import.

An import is all or nothing: a rejected file shows every `row N, column NAME: problem`
and the session is rolled back, so nothing of it is stored.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine.models import Organization
from engine.models import User
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.models import InspectorUnavailability
from engine.planning.registry import COLUMNS
from engine.planning.registry import ImportRejected
from engine.planning.registry import import_registry
from engine.planning.townships import TOWNSHIPS
from web.filters import LOCAL_TZ
from web.planning_display import CREDIT_GRADE_LABELS
from web.planning_display import METHOD_LABELS
from web.planning_display import RISK_GRADE_LABELS
from web.planning_display import org_names
from web.planning_display import township_names
from web.session import get_session

PAGE_SIZE = 50
UPLOAD_SUFFIXES = (".csv", ".xlsx")
KIND_LABELS: Mapping[str, str] = {
    "objects": "检查对象名录",
    "items": "检查事项清单",
    "inspectors": "执法检查人员",
}
PROBLEM_PATTERN = re.compile(r"^row (\d+), column ([^:]+): (.*)$")
# The engine's problem texts (English) -> Chinese; `\g<n>` keeps the quoted values.
PROBLEM_TEXTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"^is empty$", "不能为空"),
        (r"^missing column$", "缺少该列"),
        (r"^unknown column$", "不应有该列"),
        (r"^repeated column$", "列名重复"),
        (r"^duplicate of row (\d+)$", "与第 \\g<1> 行重复"),
        (r"^longer than (\d+) characters$", "超过 \\g<1> 个字符"),
        (r"^unknown township (.+)$", "未知的乡镇 \\g<1>（请填写乡镇中文名，如 英吉沙镇）"),
        (r"^unknown organization (.+)$", "未知的机构代码 \\g<1>"),
        (r"^unknown user (.+)$", "未知的用户名 \\g<1>"),
        (r"^belongs to user (.+)$", "该执法证号已属于用户 \\g<1>"),
        (r"^(.+) is not one of (.+)$", "\\g<1> 不是可选值（\\g<2>）之一"),
        (r"^(.+) is not a date \(YYYY-MM-DD\)$", "\\g<1> 不是日期（格式 YYYY-MM-DD）"),
        (r"^must be 18 characters, got (\d+)$", "统一社会信用代码应为 18 位，实为 \\g<1> 位"),
        (r"^contains characters outside .*$", "统一社会信用代码含有不允许的字符"),
        (r"^check digit is (.+), expected (.+)$", "校验码为 \\g<1>，应为 \\g<2>"),
        (r"^the file is empty$", "文件是空的"),
        (r"^the file is not UTF-8 text$", "文件不是 UTF-8 编码的文本"),
        (r"^not a readable XLSX workbook$", "不是可读取的 XLSX 工作簿"),
    )
)
MESSAGES: Mapping[str, str] = {
    "imported": "已导入{kind} {count} 条（新增 {created}，更新 {updated}）。",
    "no_file": "请选择要导入的 CSV 或 XLSX 文件。",
    "bad_suffix": "只能导入 .csv 或 .xlsx 文件。",
    "bad_kind": "请选择导入类型。",
    "plan_created": "已创建 {year} 年度抽查计划。",
    "plan_exists": "该年度的计划已存在。",
    "year": "请填写 2000 至 2100 之间的年份。",
    "cap_per_agency": "请填写不小于 1 的整数。",
    "cap_all_agencies": "请填写不小于 1 的整数，或留空表示不设总上限。",
    "sampling_ratio": "请填写大于 0、不大于 1 的比例，如 0.3。",
    "joint_year": "请填写年份。",
    "joint_object_category": "请填写检查对象类别，如 餐饮。",
    "joint_matter": "请填写检查事项，如 食品安全与卫生。",
    "joint_lead_agency": "请选择牵头部门。",
    "joint_exists": "该年度已有同一类别、同一事项的联合检查。",
    "joint_rule": "联合检查至少需要一个配合部门，所选检查事项须属于牵头或配合部门。",
    "joint_created": "已添加 {year} 年联合检查事项「{matter}」。",
    "plan_rule": "计划不符合要求：频次上限至少为 1，抽查比例在 0 到 1 之间。",
}


@dataclass(frozen=True)
class ImportProblem:
    """One rejected cell, split for the table; `text` is the engine's line as is."""

    text: str
    row: str
    column: str
    problem: str


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/registries", "registries", registries_index, methods=["GET"])
    bp.add_url_rule("/registries/objects", "registry_objects", objects_page, methods=["GET"])
    bp.add_url_rule("/registries/items", "registry_items", items_page, methods=["GET"])
    bp.add_url_rule("/registries/inspectors", "registry_inspectors", inspectors_page)
    bp.add_url_rule("/registries/import", "registry_import", import_form, methods=["GET"])
    bp.add_url_rule("/registries/import", "registry_import_submit", import_submit, methods=["POST"])


def registries_index() -> Response:
    return redirect(url_for("admin.registry_objects"))


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def this_year() -> int:
    return datetime.now(LOCAL_TZ).year


def _object_filters() -> dict[str, str]:
    keys = ("q", "township", "industry", "risk_grade", "credit_grade")
    return {key: request.args.get(key, "").strip() for key in keys}


def _objects_query(filters: Mapping[str, str]) -> Any:
    query = select(InspectionObject)
    if filters["q"]:
        pattern = f"%{filters['q']}%"
        query = query.where(
            or_(InspectionObject.name.like(pattern), InspectionObject.credit_code.like(pattern))
        )
    columns = {
        "township": InspectionObject.township_code,
        "industry": InspectionObject.industry,
        "risk_grade": InspectionObject.risk_grade,
        "credit_grade": InspectionObject.credit_grade,
    }
    for key, column in columns.items():
        if filters[key]:
            query = query.where(column == filters[key])
    return query


def objects_page() -> str:
    db = get_session()
    filters = _object_filters()
    query = _objects_query(filters)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = Page(min(_page_number(), Page(1, total).count), total)
    rows = db.scalars(
        query.order_by(InspectionObject.name).offset(page.offset).limit(page.size)
    ).all()
    industries = db.scalars(select(InspectionObject.industry).distinct().order_by("industry"))
    return render_template(
        "admin/registries/objects.html",
        objects=rows,
        page=page,
        filters=filters,
        industries=list(industries),
        townships=TOWNSHIPS,
        township_names=township_names(),
        risk_labels=RISK_GRADE_LABELS,
        credit_labels=CREDIT_GRADE_LABELS,
    )


def items_page() -> str:
    db = get_session()
    agency = request.args.get("agency", "").strip()
    query = select(InspectionItem).order_by(
        InspectionItem.agency_code, InspectionItem.item_code, InspectionItem.version
    )
    if agency:
        query = query.where(InspectionItem.agency_code == agency)
    items = list(db.scalars(query))
    grouped: dict[str, list[InspectionItem]] = {}
    for item in items:
        grouped.setdefault(item.agency_code, []).append(item)
    agencies = db.scalars(select(InspectionItem.agency_code).distinct().order_by("agency_code"))
    return render_template(
        "admin/registries/items.html",
        grouped=grouped,
        agency=agency,
        agencies=list(agencies),
        names=org_names(db),
        method_labels=METHOD_LABELS,
    )


def _inspectors(db: Session, org_code: str) -> list[User]:
    query = select(User).where(User.certificates.any()).order_by(User.org_code, User.username)
    if org_code:
        query = query.where(User.org_code == org_code)
    return list(db.scalars(query).unique())


def _by_user(db: Session, model: Any, user_ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {user_id: [] for user_id in user_ids}
    order = model.credit_code if model is InspectorConflict else model.day
    for row in db.scalars(select(model).where(model.user_id.in_(user_ids)).order_by(order)):
        found[row.user_id].append(row)
    return found


def inspectors_page() -> str:
    db = get_session()
    org_code = request.args.get("org", "").strip()
    users = _inspectors(db, org_code)
    ids = [user.id for user in users]
    conflicts = _by_user(db, InspectorConflict, ids)
    codes = {c.credit_code for rows in conflicts.values() for c in rows}
    objects = db.scalars(select(InspectionObject).where(InspectionObject.credit_code.in_(codes)))
    today = datetime.now(LOCAL_TZ).date()
    unavailable = _by_user(db, InspectorUnavailability, ids)
    return render_template(
        "admin/registries/inspectors.html",
        users=users,
        org_code=org_code,
        orgs=db.scalars(select(Organization).order_by(Organization.code)).all(),
        conflicts=conflicts,
        object_names={o.credit_code: o.name for o in objects},
        unavailable={k: [d for d in v if d.day >= today] for k, v in unavailable.items()},
        today=today,
    )


def _render_import(
    kind: str, problems: list[ImportProblem], error: str | None, status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin/registries/import.html",
        kind=kind,
        kinds=KIND_LABELS,
        columns=COLUMNS,
        problems=problems,
        error=error,
        townships=TOWNSHIPS,
    )
    return page, status


def import_form() -> tuple[str, int]:
    return _render_import(request.args.get("kind", "objects"), [], None)


def split_problem(text: str) -> ImportProblem:
    """`row N, column NAME: problem` split into its parts (the whole line when it is not)."""
    found = PROBLEM_PATTERN.match(text)
    if found is None:
        return ImportProblem(text, "", "", problem_text(text))
    return ImportProblem(text, found.group(1), found.group(2), problem_text(found.group(3)))


def problem_text(problem: str) -> str:
    """The Chinese of one cell problem; as the engine wrote it when no pattern matches."""
    for pattern, text in PROBLEM_TEXTS:
        if pattern.match(problem):
            return pattern.sub(text, problem)
    return problem


def import_submit() -> tuple[str, int] | Response:
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in COLUMNS:
        return _render_import("objects", [], MESSAGES["bad_kind"], 400)
    if upload is None or not upload.filename:
        return _render_import(kind, [], MESSAGES["no_file"], 400)
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return _render_import(kind, [], MESSAGES["bad_suffix"], 400)
    db = get_session()
    with tempfile.TemporaryDirectory(prefix="xietong-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            result = import_registry(db, kind, path)
        except ImportRejected as exc:
            db.rollback()
            return _render_import(kind, [split_problem(p) for p in exc.problems], None, 400)
    db.commit()
    flash(
        MESSAGES["imported"].format(
            kind=KIND_LABELS[kind],
            count=result.count,
            created=result.created,
            updated=result.updated,
        ),
        "success",
    )
    return redirect(url_for("admin.registry_import", kind=kind))
