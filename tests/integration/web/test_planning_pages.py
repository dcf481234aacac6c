"""Planning pages: plans and joint items, cap overrides (justice bureau only), draw records
(participants, coordinators, justice bureau) and the public verification of a draw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.demo.planning import seed_demo_registry
from engine.planning import caps
from engine.planning import drawing
from engine.planning import service
from engine.planning.models import CapOverride
from engine.planning.models import DrawRecord
from engine.planning.models import InspectionObject

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]

YEAR = 2026
SEED_A = "public-seed-scjg-wjw"
SEED_B = "public-seed-yj-only"


@dataclass(frozen=True)
class Draws:
    joint: int  # objects, YJS-SCJG leading with YJS-WJW
    team: int  # inspectors drawn for `joint`
    other: int  # objects, YJS-YJ alone
    spare: int  # objects, YJS-SCJG alone: the one the tampering test changes


def _object_draw(session: Session, lead: str, agencies: list[str], seed: str) -> int:
    record = drawing.prepare_object_draw(
        session,
        actor="tester",
        lead_org=lead,
        agencies=agencies,
        count=3,
        filters={},
        year=YEAR,
        seed=seed,
    )
    drawing.run_object_draw(session, actor="tester", record_id=record.id)
    return record.id


@pytest.fixture(scope="module")
def draws(app: Flask, session_factory: sessionmaker[Session]) -> Draws:
    with session_factory.begin() as session:
        seed_demo_registry(session, year=YEAR, count=40)
        joint = _object_draw(session, "YJS-SCJG", ["YJS-WJW"], SEED_A)
        team = drawing.draw_inspectors(
            session,
            actor="tester",
            record_id=joint,
            agencies={"YJS-SCJG": "market_regulation", "YJS-WJW": "health"},
            inspection_date=date(YEAR, 12, 1),
            seed="public-seed-team",
        )
        other = _object_draw(session, "YJS-YJ", [], SEED_B)
        spare = _object_draw(session, "YJS-SCJG", [], "public-seed-spare")
        return Draws(joint, team.id, other, spare)


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_plans_page_shows_caps_and_joint_items(login: Login, draws: Draws) -> None:
    page = _page(login("scjg_officer1"), f"/plans?year={YEAR}")
    assert "每年最多检查 <strong>2</strong> 次" in page
    assert "食品安全与卫生" in page
    assert "英吉沙县卫生健康委员会" in page
    assert "准许超频次抽取</a>" not in page


@pytest.mark.parametrize("username", ["ga_officer", "jw_officer", "jcy_officer"])
def test_bodies_outside_planning_are_refused(login: Login, username: str) -> None:
    client = login(username)
    assert client.get("/plans").status_code == 403
    assert client.get("/draws").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, draws: Draws) -> None:
    for path in ("/plans", "/draws", f"/draws/{draws.joint}"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_draw_list_shows_only_draws_the_organization_took_part_in(
    login: Login, draws: Draws
) -> None:
    page = _page(login("wjw_officer1"), "/draws")
    assert f'/draws/{draws.joint}"' in page
    assert f'/draws/{draws.team}"' in page
    assert f'/draws/{draws.other}"' not in page
    assert f'/draws/{draws.spare}"' not in page


def test_coordinators_see_every_draw(login: Login, draws: Draws) -> None:
    page = _page(login("sfj_coordinator"), "/draws")
    for record_id in (draws.joint, draws.team, draws.other, draws.spare):
        assert f'/draws/{record_id}"' in page


def test_draw_detail_of_another_organization_is_not_found(login: Login, draws: Draws) -> None:
    client = login("scjg_officer1")
    assert client.get(f"/draws/{draws.other}").status_code == 404
    assert client.get("/draws/999999").status_code == 404


def test_draw_detail_shows_seed_hash_parameters_and_result(
    login: Login, draws: Draws, db_session: Session
) -> None:
    record = db_session.get(DrawRecord, draws.joint)
    assert record is not None
    drawn = drawing.drawn_objects(record)
    candidate_hash = record.candidate_hash
    db_session.rollback()
    page = _page(login("scjg_officer2"), f"/draws/{draws.joint}")
    assert SEED_A in page
    assert candidate_hash in page
    assert "xt-draw-v1" in page
    assert "英吉沙县市场监督管理局" in page
    for entry in drawn:
        assert entry["credit_code"] in page
        assert entry["name"] in page
    assert f"/draws/{draws.team}" in page


def test_inspector_draw_detail_shows_the_teams(login: Login, draws: Draws) -> None:
    page = _page(login("sfj_coordinator"), f"/draws/{draws.team}")
    assert "市场监管局 执法人员" in page
    assert "卫健委 执法人员" in page
    assert "YJS-SCJG-2024-" in page  # certificate numbers are shown inside


def test_cap_override_is_refused_to_agencies(
    login: Login, csrf_token: Csrf, draws: Draws, db_session: Session
) -> None:
    client = login("scjg_head")
    assert client.get("/plans/cap-overrides/new").status_code == 403
    response = client.post(
        "/plans/cap-overrides",
        data={
            "year": str(YEAR),
            "credit_code": _any_code(db_session),
            "reason": "复查",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 403


def _any_code(db_session: Session) -> str:
    code = db_session.scalars(select(InspectionObject.credit_code)).first()
    db_session.rollback()
    assert code is not None
    return code


def _overrides(db_session: Session, code: str) -> list[str]:
    found = db_session.scalars(
        select(CapOverride.reason).where(CapOverride.credit_code == code)
    ).all()
    db_session.rollback()
    return list(found)


def test_cap_override_needs_a_reason(
    login: Login, csrf_token: Csrf, draws: Draws, db_session: Session
) -> None:
    client = login("sfj_coordinator")
    code = _any_code(db_session)
    form = {"year": str(YEAR), "credit_code": code, "reason": "  "}
    response = client.post("/plans/cap-overrides", data={**form, "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert 'id="reason-error"' in response.get_data(as_text=True)
    assert _overrides(db_session, code) == []

    form["reason"] = "群众举报，需再次检查"
    response = client.post("/plans/cap-overrides", data={**form, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert _overrides(db_session, code) == ["群众举报，需再次检查"]
    page = _page(client, f"/plans?year={YEAR}")
    assert "群众举报，需再次检查" in page
    assert "准许超频次抽取</a>" in page


def test_cap_override_of_an_unknown_entity_is_a_field_error(
    login: Login, csrf_token: Csrf, draws: Draws
) -> None:
    client = login("sfj_coordinator")
    response = client.post(
        "/plans/cap-overrides",
        data={
            "year": str(YEAR),
            "credit_code": "91653123XXXXXXXXXX",
            "reason": "复查",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 400
    assert 'id="credit_code-error"' in response.get_data(as_text=True)


def test_public_verification_needs_no_login(
    client: FlaskClient, draws: Draws, db_session: Session
) -> None:
    record = db_session.get(DrawRecord, draws.joint)
    assert record is not None
    drawn = drawing.drawn_objects(record)
    candidate_hash = record.candidate_hash
    db_session.rollback()
    page = _page(client, f"/draws/{draws.joint}/verify")
    assert "一致：" in page
    assert "不一致" not in page
    assert SEED_A in page
    assert candidate_hash in page
    for entry in drawn:
        assert entry["credit_code"] in page
        assert entry["name"] in page


def test_public_verification_of_a_team_shows_names_and_units_only(
    client: FlaskClient, draws: Draws
) -> None:
    page = _page(client, f"/draws/{draws.team}/verify")
    assert "一致：" in page
    assert "市场监管局 执法人员" in page
    assert "英吉沙县市场监督管理局" in page
    assert "YJS-SCJG-2024-" not in page  # no certificate numbers
    assert "scjg_officer" not in page  # no account names
    assert "tester" not in page  # nor the operator


def test_public_verification_reports_a_tampered_record(
    client: FlaskClient, draws: Draws, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        record = session.get(DrawRecord, draws.spare)
        assert record is not None
        drawn = list(record.result["objects"])
        others = [c["credit_code"] for c in record.candidates if c["credit_code"] not in drawn]
        record.result = {"objects": [others[0], *drawn[1:]]}
    page = _page(client, f"/draws/{draws.spare}/verify")
    assert "不一致" in page
    assert "存档的抽取结果与按种子和候选名单重新计算的结果不一致" in page
    assert drawn[0] in page  # the recomputed result is shown next to the stored one

    with session_factory.begin() as session:
        record = session.get(DrawRecord, draws.spare)
        assert record is not None
        record.candidates = [*record.candidates[1:]]
    page = _page(client, f"/draws/{draws.spare}/verify")
    assert "候选名单与存档的哈希值不一致" in page


def test_verification_of_a_missing_record_is_not_found(client: FlaskClient) -> None:
    assert client.get("/draws/999999/verify").status_code == 404


def test_cap_override_page_lists_entities_at_their_cap(
    login: Login, draws: Draws, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        codes = session.scalars(select(InspectionObject.credit_code)).all()
        counts = caps.yearly_counts(session, YEAR)
        code = next(c for c in codes if c not in counts)
        for day in (date(YEAR, 3, 1), date(YEAR, 4, 1)):
            service.record_inspection(
                session, credit_codes=[code], agencies=["YJS-JT"], day=day, instance_id=None
            )
    page = _page(login("sfj_coordinator"), f"/plans/cap-overrides/new?year={YEAR}")
    row = page[page.index(code) :]
    assert "英吉沙县交通运输局 已检查 2 次（上限 2）" in row[: row.index("</tr>")]


def test_public_verification_of_a_record_missing_its_parameters(
    client: FlaskClient, draws: Draws, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        record = session.get(DrawRecord, draws.spare)
        assert record is not None
        record.params = {key: v for key, v in record.params.items() if key != "count"}
    page = _page(client, f"/draws/{draws.spare}/verify")
    assert "不一致" in page
    assert "无法复算" in page
