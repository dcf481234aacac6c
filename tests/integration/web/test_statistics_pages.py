"""统计分析: the page, its links and charts, the exports and the API, and who may see them."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.models import ProcessInstance
from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from tests import statistics_data as data

Login = Callable[..., FlaskClient]
PERIOD = f"from={data.DATE_FROM}&to={data.DATE_TO}"


@pytest.fixture(scope="module")
def dataset(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, int]:
    with session_factory.begin() as session:
        ids = data.build(session)
        # A formula-looking case title must stay text in the supervision export.
        instance = session.get(ProcessInstance, ids["stall"])
        assert instance is not None
        instance.title = "=cmd|' /C calc'!A0"
        return ids


@pytest.fixture(scope="module")
def tokens(session_factory: sessionmaker[Session], demo_accounts: object) -> dict[str, str]:
    with session_factory.begin() as session:
        issued = {}
        for username in ("sfj_coordinator", "ga_head", "scjg_officer1"):
            user = find_user(session, username)
            assert user is not None
            issued[username] = issue_api_token(session, user, "test")
        return issued


def _cells(page: str, table_id: str, key: str) -> list[str]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_coordinator_page_shows_the_hand_computed_figures(
    login: Login, dataset: dict[str, int]
) -> None:
    page = login("sfj_coordinator").get(f"/statistics/?{PERIOD}").get_data(as_text=True)
    org_a = _cells(page, "group-table", data.ORG_A)
    assert org_a[0].endswith("市场监督管理局") and org_a[1:] == ["3", "1", "2", "0"]
    assert _cells(page, "group-table", data.ORG_B)[1:] == ["2", "0", "1", "1"]
    assert _cells(page, "group-table", "total") == ["合计", "5", "1", "3", "1"]
    assert _cells(page, "flag-table", data.ORG_B)[1:] == ["0", "0.0%", "0", "0.0%", "1", "50.0%"]
    assert "66.7%" in page.split('data-step="stat_p1:review"', 1)[1].split("</tr>", 1)[0]
    assert page.count('class="chart"') == 2 and "<script" not in page


def test_every_group_figure_links_to_its_supervision_list(
    login: Login, dataset: dict[str, int]
) -> None:
    client = login("sfj_coordinator")
    page = client.get(f"/statistics/?{PERIOD}").get_data(as_text=True)
    row = page.split(f'data-key="{data.ORG_B}"', 1)[1].split("</tr>", 1)[0]
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', row)]
    assert len(links) == 4
    listed = client.get(links[0]).get_data(as_text=True)
    found = {int(n) for n in re.findall(r'data-instance-id="(\d+)"', listed)}
    assert found == {dataset["stall"], dataset["gone"]}
    cancelled = client.get(links[3]).get_data(as_text=True)
    assert {int(n) for n in re.findall(r'data-instance-id="(\d+)"', cancelled)} == {dataset["gone"]}


def test_months_render_as_a_line_chart(login: Login, dataset: dict[str, int]) -> None:
    page = login("sfj_coordinator").get(f"/statistics/?{PERIOD}&group_by=month")
    text = page.get_data(as_text=True)
    assert "<polyline" in text
    assert _cells(text, "group-table", "2031-03")[1:] == ["3", "1", "2", "0"]


def test_bad_filters_get_a_chinese_error_not_a_500(login: Login, dataset: dict[str, int]) -> None:
    page = login("sfj_coordinator").get("/statistics/?from=2031-13-40&group_by=year")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "日期格式应为 YYYY-MM-DD" in text and "分组只能是" in text


def test_officers_get_404_and_a_head_sees_only_their_agency(
    login: Login, client: FlaskClient, dataset: dict[str, int]
) -> None:
    assert login("scjg_officer1").get("/statistics/").status_code == 404
    assert client.get("/statistics/export.xlsx").status_code == 404
    client.post("/logout")
    page = login("ga_head").get(f"/statistics/?{PERIOD}").get_data(as_text=True)
    assert _cells(page, "group-table", "total")[1] == "2"
    assert f'data-key="{data.ORG_A}"' not in page


def test_statistics_xlsx_has_a_cover_and_one_sheet_per_table(
    login: Login, dataset: dict[str, int]
) -> None:
    response = login("sfj_coordinator").get(f"/statistics/export.xlsx?{PERIOD}")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["说明", "分组统计", "环节用时"]
    cover = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert cover["发起日期自"] == str(data.DATE_FROM) and "生成时间" in cover
    groups = book["分组统计"]
    assert groups.freeze_panes == "A2"
    rows = list(groups.iter_rows(values_only=True))
    assert rows[0][:5] == ("发起单位", "发起", "办结", "在办", "撤销")
    assert len(rows) == 1 + 2 + 1  # header, two organizations, total
    assert rows[-1][:5] == ("合计", 5, 1, 3, 1)
    assert all(c.data_type != "f" for sheet in book for row in sheet.iter_rows() for c in row)


def test_supervision_export_keeps_formula_titles_as_text(
    login: Login, dataset: dict[str, int]
) -> None:
    client = login("sfj_coordinator")
    response = client.get(f"/supervision/export.xlsx?started_org={data.ORG_B}&{PERIOD}")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["说明", "流程实例"]
    sheet = book["流程实例"]
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]][:3] == ["编号", "案件", "流程"]
    assert len(rows) == 3
    titles = {row[1].value: row[1].data_type for row in rows[1:]}
    assert titles["=cmd|' /C calc'!A0"] == "s"
    csv_body = client.get(f"/supervision/export.csv?started_org={data.ORG_B}&{PERIOD}").data
    assert csv_body.startswith(b"\xef\xbb\xbf") and "'=cmd" in csv_body.decode("utf-8-sig")


def _api(app: Flask, token: str, path: str) -> Any:
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_api_answers_the_figures_as_json(
    app: Flask, tokens: dict[str, str], dataset: dict[str, int]
) -> None:
    body = _api(app, tokens["sfj_coordinator"], f"/api/v1/statistics?{PERIOD}").get_json()
    assert body["group_by"] == "org"
    assert {g["key"]: g["started"] for g in body["groups"]} == {data.ORG_A: 3, data.ORG_B: 2}
    assert body["total"]["red_rate"] == pytest.approx(0.2)
    review = next(s for s in body["steps"] if s["bpmn_id"] == "review")
    assert (review["on_time"], review["late"], review["p90_hours"]) == (2, 1, 72)


def test_api_refuses_officers_and_bad_queries(
    app: Flask, tokens: dict[str, str], dataset: dict[str, int]
) -> None:
    assert _api(app, tokens["scjg_officer1"], "/api/v1/statistics").status_code == 404
    bad = _api(app, tokens["ga_head"], "/api/v1/statistics?group_by=week")
    assert bad.status_code == 422 and "group_by" in bad.get_json()["fields"]
    unknown = _api(app, tokens["ga_head"], "/api/v1/statistics?colour=red&from=")
    assert unknown.status_code == 422
    assert set(unknown.get_json()["fields"]) == {"colour", "from"}
    head = _api(app, tokens["ga_head"], f"/api/v1/statistics?{PERIOD}").get_json()
    assert [g["key"] for g in head["groups"]] == [data.ORG_B]
    export = _api(app, tokens["ga_head"], f"/api/v1/exports/statistics.xlsx?{PERIOD}")
    assert openpyxl.load_workbook(io.BytesIO(export.data)).sheetnames[0] == "说明"


def test_statistics_csv_has_a_bom_and_the_group_rows(login: Login, dataset: dict[str, int]) -> None:
    client = login("sfj_coordinator")
    body = client.get(f"/statistics/export.csv?{PERIOD}&group_by=month").data
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("月份,发起,办结,在办,撤销,临期件数")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["2031-03", "3"],
        ["2031-04", "2"],
        ["合计", "5"],
    ]
    steps = client.get(f"/statistics/export.csv?{PERIOD}&table=steps").data.decode("utf-8-sig")
    assert "统计流程一,审查,4,2,1,66.7%,0,1.0,3.0,3个工作日" in steps
