"""Admin pages of the planning registries: lists, search and paging, annual plans, and the
all-or-nothing CSV/XLSX import that shows every bad cell."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.demo.planning import make_credit_code
from engine.demo.planning import seed_demo_registry
from engine.planning import service
from engine.planning.models import AnnualPlan
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionObject

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]

PAGES = [
    "/admin/registries/objects",
    "/admin/registries/items",
    "/admin/registries/inspectors",
    "/admin/registries/joint-items?year=2026",
    "/admin/registries/plans",
    "/admin/registries/import",
]
HEADER = "credit_code,name,township,industry,risk_grade,credit_grade"


@pytest.fixture(scope="module")
def registry(app: Flask, session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        seed_demo_registry(session, year=2026, count=60)


def _codes(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    return [make_credit_code(rng) for _ in range(count)]


def _object_count(db_session: Session) -> int:
    count = db_session.scalar(select(func.count()).select_from(InspectionObject)) or 0
    db_session.rollback()
    return count


def _upload(client: FlaskClient, token: str, kind: str, name: str, data: bytes) -> str:
    response = client.post(
        "/admin/registries/import",
        data={"kind": kind, "file": (io.BytesIO(data), name), "csrf_token": token},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    return f"{response.status_code}\n{response.get_data(as_text=True)}"


@pytest.mark.parametrize("path", PAGES)
def test_registry_pages_render_for_the_admin(login: Login, registry: None, path: str) -> None:
    response = login("admin").get(path)
    assert response.status_code == 200
    assert "<h1>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_registry_pages_are_refused_to_others(login: Login, path: str) -> None:
    assert login("sfj_coordinator").get(path).status_code == 403


def test_object_list_pages_and_searches(login: Login, registry: None, db_session: Session) -> None:
    first = db_session.scalars(select(InspectionObject).order_by(InspectionObject.name)).first()
    assert first is not None
    name, code = first.name, first.credit_code
    db_session.rollback()
    client = login("admin")
    page_one = client.get("/admin/registries/objects").get_data(as_text=True)
    assert "共 60 个检查对象，第 1 / 2 页" in page_one
    assert name in page_one
    page_two = client.get("/admin/registries/objects?page=2").get_data(as_text=True)
    assert name not in page_two
    found = client.get(f"/admin/registries/objects?q={code[-6:]}").get_data(as_text=True)
    assert "共 1 个检查对象" in found
    assert name in found


def test_object_list_filters_by_risk_grade(login: Login, registry: None) -> None:
    page = login("admin").get("/admin/registries/objects?risk_grade=high").get_data(as_text=True)
    assert "低风险</td>" not in page
    assert "高风险</td>" in page


def test_bad_csv_shows_every_problem_and_imports_nothing(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    good, other = _codes(2, seed=11)
    rows = [
        HEADER,
        f"{good},英吉沙县新开餐厅,英吉沙镇,餐饮,low,A",
        f"{other},英吉沙县坏行,不存在乡,餐饮,extreme,A",
        "91653123BADCODE000,英吉沙县错码商行,乌恰镇,餐饮,low,Z",
    ]
    before = _object_count(db_session)
    client = login("admin")
    text = _upload(client, csrf_token(client), "objects", "objects.csv", "\n".join(rows).encode())
    assert text.startswith("400")
    assert "文件有 4 处问题，未导入任何数据" in text
    for prefix in (
        "row 3, column township:",
        "row 3, column risk_grade:",
        "row 4, column credit_code:",
        "row 4, column credit_grade:",
    ):
        assert prefix in text
    assert "不是可选值（low, medium, high）之一" in text
    assert "未知的乡镇" in text
    assert _object_count(db_session) == before


def test_good_csv_is_imported(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    code = _codes(1, seed=12)[0]
    data = f"{HEADER}\n{code},英吉沙县导入测试超市,芒辛镇,食品销售,medium,B\n".encode()
    client = login("admin")
    text = _upload(client, csrf_token(client), "objects", "objects.csv", data)
    assert text.startswith("200")
    assert "已导入检查对象名录 1 条（新增 1，更新 0）" in text
    imported = db_session.get(InspectionObject, code)
    assert imported is not None
    assert (imported.name, imported.township_code) == ("英吉沙县导入测试超市", "TWP-MANGXIN")
    db_session.rollback()


def test_xlsx_upload_is_checked_the_same_way(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["username", "certificate_no", "fields", "valid_until", "conflicts"])
    sheet.append(["scjg_officer1", "YJS-SCJG-2024-001", "market_regulation", "2029-12-31", ""])
    sheet.append(["nobody_here", "X-1", "health", "someday", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = login("admin")
    text = _upload(client, csrf_token(client), "inspectors", "people.xlsx", buffer.getvalue())
    assert text.startswith("400")
    assert "row 3, column username:" in text
    assert "row 3, column valid_until:" in text


def test_upload_of_another_file_type_is_refused(login: Login, csrf_token: Csrf) -> None:
    client = login("admin")
    text = _upload(client, csrf_token(client), "objects", "objects.txt", b"x")
    assert text.startswith("400")
    assert "只能导入 .csv 或 .xlsx 文件" in text


def test_create_annual_plan_with_caps(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    client = login("admin")
    form = {
        "year": "2040",
        "title": "英吉沙县2040年度涉企行政检查计划",
        "cap_per_agency": "2",
        "cap_all_agencies": "5",
        "sampling_ratio": "0.25",
    }
    response = client.post(
        "/admin/registries/plans", data={**form, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    plan = db_session.scalar(select(AnnualPlan).where(AnnualPlan.year == 2040))
    assert plan is not None
    assert (plan.cap_per_agency_per_entity, plan.cap_all_agencies_per_entity) == (2, 5)
    assert plan.sampling_ratio == 0.25
    db_session.rollback()

    again = client.post("/admin/registries/plans", data={**form, "csrf_token": csrf_token(client)})
    assert again.status_code == 400
    assert "该年度的计划已存在" in again.get_data(as_text=True)


def test_plan_field_errors_are_shown_inline(login: Login, csrf_token: Csrf) -> None:
    client = login("admin")
    response = client.post(
        "/admin/registries/plans",
        data={
            "year": "2041",
            "cap_per_agency": "0",
            "cap_all_agencies": "x",
            "sampling_ratio": "1.5",
            "title": "",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("cap_per_agency", "cap_all_agencies", "sampling_ratio"):
        assert f'id="{field}-error"' in page
    assert 'id="year-error"' not in page


def _item_ids(db_session: Session, *codes: str) -> list[str]:
    ids = db_session.scalars(
        select(InspectionItem.id).where(InspectionItem.item_code.in_(codes))
    ).all()
    db_session.rollback()
    return [str(i) for i in ids]


def test_add_joint_item(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    client = login("admin")
    form = {
        "year": "2042",
        "object_category": "药品零售",
        "matter": "药品质量与从业人员健康",
        "lead_agency": "YJS-SCJG",
        "agencies": ["YJS-WJW"],
        "item_ids": _item_ids(db_session, "SCJG-002", "WJW-002"),
    }
    response = client.post(
        "/admin/registries/joint-items", data={**form, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    joint = service.list_joint_items(db_session, 2042)
    assert [(j.matter, j.lead_agency, j.participating_agencies) for j in joint] == [
        ("药品质量与从业人员健康", "YJS-SCJG", ["YJS-WJW"])
    ]
    assert len(joint[0].item_ids) == 2
    db_session.rollback()
    page = client.get("/admin/registries/joint-items?year=2042").get_data(as_text=True)
    assert "药品质量与从业人员健康" in page


def test_joint_item_without_partner_is_refused(
    login: Login, csrf_token: Csrf, registry: None, db_session: Session
) -> None:
    client = login("admin")
    form = {
        "year": "2043",
        "object_category": "餐饮",
        "matter": "单独检查",
        "lead_agency": "YJS-SCJG",
        "item_ids": _item_ids(db_session, "SCJG-001"),
    }
    response = client.post(
        "/admin/registries/joint-items", data={**form, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 400
    assert 'id="agencies-error"' in response.get_data(as_text=True)
    assert service.list_joint_items(db_session, 2043) == []
    db_session.rollback()
