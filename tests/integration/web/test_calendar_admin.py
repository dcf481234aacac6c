"""Admin page of the holiday calendar: list by year, add, remove, field errors, guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.deadlines import calendar

Login = Callable[..., FlaskClient]
Csrf = Callable[[FlaskClient], str]


def _rows(db_session: Session, year: int) -> list[tuple[date, str, str, str]]:
    rows = [(r.day, r.kind, r.name, r.region) for r in calendar.list_overrides(db_session, year)]
    db_session.rollback()
    return rows


def test_calendar_page_lists_the_year(login: Login, db_session: Session) -> None:
    calendar.add_override(
        db_session,
        day=date(2031, 4, 2),
        kind="holiday",
        name="肉孜节",
        region="xinjiang",
        actor="t",
    )
    db_session.commit()
    page = login("admin").get("/admin/calendar?year=2031").get_data(as_text=True)
    assert "2031-04-02" in page
    assert "肉孜节" in page
    other_year = login("admin").get("/admin/calendar?year=2030").get_data(as_text=True)
    assert "2031-04-02" not in other_year


def test_add_then_remove_round_trip(login: Login, csrf_token: Csrf, db_session: Session) -> None:
    client = login("admin")
    form = {"day": "2032-06-10", "kind": "holiday", "name": "古尔邦节", "region": "xinjiang"}
    response = client.post("/admin/calendar", data={**form, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert "year=2032" in response.headers["Location"]
    assert _rows(db_session, 2032) == [(date(2032, 6, 10), "holiday", "古尔邦节", "xinjiang")]
    assert calendar.load_calendar(db_session).is_working_day(date(2032, 6, 10)) is False
    db_session.rollback()

    page = client.get("/admin/calendar?year=2032").get_data(as_text=True)
    assert "古尔邦节" in page
    response = client.post(
        "/admin/calendar/remove",
        data={"day": "2032-06-10", "region": "xinjiang", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert _rows(db_session, 2032) == []


def test_field_errors_are_shown_inline_and_nothing_is_added(
    login: Login, csrf_token: Csrf, db_session: Session
) -> None:
    client = login("admin")
    response = client.post(
        "/admin/calendar",
        data={
            "day": "2033-02-30",
            "kind": "holiday",
            "name": "",
            "region": "xinjiang",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="day-error"' in page
    response = client.post(
        "/admin/calendar",
        data={
            "day": "2033-03-01",
            "kind": "party",
            "name": " ",
            "region": "xinjiang",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="kind-error"' in page
    assert 'id="name-error"' in page
    assert _rows(db_session, 2033) == []


def test_a_second_override_of_the_same_day_and_region_is_refused(
    login: Login, csrf_token: Csrf
) -> None:
    client = login("admin")
    form = {"day": "2034-01-05", "kind": "workday", "name": "调休", "region": "national"}
    first = client.post("/admin/calendar", data={**form, "csrf_token": csrf_token(client)})
    assert first.status_code == 302
    again = client.post("/admin/calendar", data={**form, "csrf_token": csrf_token(client)})
    assert again.status_code == 400
    assert "已有调整" in again.get_data(as_text=True)


def test_removing_a_missing_override_flashes_an_error(login: Login, csrf_token: Csrf) -> None:
    client = login("admin")
    response = client.post(
        "/admin/calendar/remove",
        data={"day": "2035-05-05", "region": "national", "csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert "没有该日期的调整记录" in response.get_data(as_text=True)


def test_non_admins_are_refused(login: Login, csrf_token: Csrf) -> None:
    client = login("sfj_coordinator")
    assert client.get("/admin/calendar").status_code == 403
    form = {"day": "2036-01-02", "kind": "holiday", "name": "x", "region": "national"}
    response = client.post("/admin/calendar", data={**form, "csrf_token": csrf_token(client)})
    assert response.status_code == 403
