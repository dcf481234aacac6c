"""Lists longer than one page: 下一页 links, no duplicates or gaps, counts over every page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.cases import inbox
from engine.cases import instances
from engine.cases.inbox import task_light
from engine.models import HumanTask
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from engine.paging import PAGE_SIZE
from engine.people.accounts import find_user
from engine.people.accounts import issue_api_token
from engine.settings import Settings
from tests.integration.web.conftest import get_csrf_token
from tests.integration.web.web_demo import PROCESS_ID
from tests.integration.web.web_demo import deploy_web_demo

Login = Callable[..., FlaskClient]
EXTRA = PAGE_SIZE + 7  # the first page is full and a second one holds the rest
NEXT = re.compile(r'<a class="button secondary" rel="next" href="([^"]+)">下一页</a>')


def _start(session_factory: sessionmaker[Session], settings: Settings, case_no: str) -> int:
    with session_factory.begin() as session:
        officer = find_user(session, "scjg_officer1")
        data = {"case_no": case_no, "agency_org": "YJS-SCJG", "summary": "测试案情"}
        instance = instances.start_instance(
            session, process_id=PROCESS_ID, data=data, user=officer, settings=settings
        )
        return instance.id


@pytest.fixture(scope="module")
def seeded(
    session_factory: sessionmaker[Session], demo_accounts: object, web_settings: Settings
) -> dict[str, Any]:
    """One case whose open task is cloned EXTRA times with varied due dates; an API token."""
    deploy_web_demo(session_factory)
    instance_id = _start(session_factory, web_settings, "PAGE-1")
    expected = _clone_tasks(session_factory, instance_id)
    with session_factory.begin() as session:
        officer = find_user(session, "scjg_officer1")
        assert officer is not None
        token = issue_api_token(session, officer, "paging")
    return {"token": token, "task_ids": expected, "instance_id": instance_id}


def _clone_tasks(session_factory: sessionmaker[Session], instance_id: int) -> list[int]:
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        task = session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN
            )
        ).one()
        for n in range(EXTRA):
            due = None if n % 9 == 0 else now + timedelta(hours=(n % 5) * 24 - 30)
            warn = None if due is None else due - timedelta(hours=30)
            session.add(
                HumanTask(
                    guid=str(uuid.uuid4()),
                    instance_id=task.instance_id,
                    process_id=task.process_id,
                    bpmn_id=task.bpmn_id,
                    name=task.name,
                    lane=task.lane,
                    role=task.role,
                    org_code=task.org_code,
                    status=TaskStatus.OPEN,
                    due_at=due if n % 7 else task.due_at,  # some share one due moment
                    warn_at=warn,
                )
            )
        session.flush()
        return list(
            session.scalars(
                select(HumanTask.id).where(
                    HumanTask.org_code == task.org_code,
                    HumanTask.role == task.role,
                    HumanTask.status == TaskStatus.OPEN,
                )
            )
        )


def _walk(client: FlaskClient, url: str, row_marker: str) -> tuple[list[int], list[str]]:
    """Follow 下一页 from `url`; the ids of the rows of every page, and every page."""
    ids: list[int] = []
    pages: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = client.get(next_url).get_data(as_text=True)
        pages.append(page)
        ids += [
            int(i) for i in re.findall(rf'<tr class="{row_marker}[^"]*" data-task-id="(\d+)"', page)
        ]
        found = NEXT.search(page)
        next_url = found.group(1).replace("&amp;", "&") if found else None
        assert len(pages) < 10
    return ids, pages


def test_the_inbox_pages_through_every_open_task_once(login: Login, seeded: dict[str, Any]) -> None:
    client = login("scjg_officer1")
    expected = seeded["task_ids"]

    ids, pages = _walk(client, "/tasks/", "task-row")

    assert len(pages) == 2
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)
    assert f'id="inbox-count">{len(expected)}<' in pages[0]


def test_inbox_light_counts_and_filter_cover_every_page(
    login: Login, session_factory: sessionmaker[Session], seeded: dict[str, Any]
) -> None:
    client = login("scjg_officer1")
    now = datetime.now(UTC)
    with session_factory() as session:
        tasks = session.scalars(
            select(HumanTask).where(
                HumanTask.org_code == "YJS-SCJG", HumanTask.status == TaskStatus.OPEN
            )
        ).all()
        lights = {t.id: task_light(t, now) for t in tasks}
    first = client.get("/tasks/").get_data(as_text=True)

    for light in ("green", "yellow", "red"):
        wanted = {i for i, value in lights.items() if value == light}
        assert re.search(rf'data-light="{light}">[^<]*<strong>{len(wanted)}</strong>', first)
        ids, _pages = _walk(client, f"/tasks/?status={light}", "task-row")
        assert sorted(ids) == sorted(wanted)
    assert set(lights.values()) == {"green", "yellow", "red"}


def test_a_cursor_that_was_never_handed_out_is_a_clear_400(
    login: Login, seeded: dict[str, Any]
) -> None:
    client = login("scjg_officer1")

    for url in ("/tasks/?after=nonsense", "/tasks/done?after=1", "/supervision/?after=x.y"):
        response = client.get(url)
        assert response.status_code == 400
        assert "分页参数无效" in response.get_data(as_text=True)


def test_supervision_pages_through_every_instance_once(
    login: Login, session_factory: sessionmaker[Session], seeded: dict[str, Any]
) -> None:
    source = seeded["instance_id"]
    with session_factory.begin() as session:
        row = session.get(ProcessInstance, source)
        assert row is not None
        for n in range(EXTRA):
            session.add(
                ProcessInstance(
                    definition_id=row.definition_id,
                    spec_hash=row.spec_hash,
                    process_id=row.process_id,
                    title=f"PAGE-SUP-{n}",
                    status=row.status,
                    state_json=row.state_json,
                    serializer_version=row.serializer_version,
                    started_org=row.started_org,
                    # Some share one started_at, so the id breaks the tie.
                    started_at=row.started_at - timedelta(minutes=n // 3),
                    party_orgs=row.party_orgs,
                    waits={},
                    clocks={},
                )
            )
    with session_factory() as session:
        total = len(session.scalars(select(ProcessInstance.id)).all())
    coordinator = login("sfj_coordinator")

    seen: list[int] = []
    url: str | None = "/supervision/"
    while url is not None:
        page = coordinator.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'<tr data-instance-id="(\d+)"', page)]
        found = NEXT.search(page)
        url = found.group(1).replace("&amp;", "&") if found else None

    assert len(seen) == len(set(seen)) == total > PAGE_SIZE
    assert f'id="instance-total">{total}<' in page


def test_the_api_pages_tasks_and_instances_with_link_headers(
    app: Flask, seeded: dict[str, Any]
) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {seeded['token']}"}

    for path, limit in (("/api/v1/tasks", 20), ("/api/v1/instances", 25)):
        seen: list[int] = []
        url: str | None = f"{path}?limit={limit}"
        while url is not None:
            response = client.get(url, headers=headers)
            assert response.status_code == 200
            items = response.get_json()
            assert len(items) <= limit
            seen += [item["id"] for item in items]
            link = response.headers.get("Link")
            url = link[1 : link.index(">")] if link else None
        assert len(seen) == len(set(seen)) > limit

    bad = client.get("/api/v1/tasks?light=purple", headers=headers)
    assert bad.status_code == 400
    assert bad.get_json()["fields"] == {"light": "取值无效"}


def test_small_pages_cross_from_dated_to_undated_tasks_without_gaps(
    session_factory: sessionmaker[Session], seeded: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    seen: list[HumanTask] = []
    with session_factory() as session:
        officer = find_user(session, "scjg_officer1")
        assert officer is not None
        after: str | None = None
        while True:
            page = inbox.open_task_page(
                session, officer, inbox.TaskFilters(), now=now, after=after, size=4
            )
            seen += page.items
            if page.next_after is None:
                break
            after = page.next_after

    assert sorted(t.id for t in seen) == sorted(seeded["task_ids"])
    keys = [(t.due_at is None, t.due_at or now, t.id) for t in seen]
    assert keys == sorted(keys)
    assert sum(t.due_at is None for t in seen) > 4  # the undated tasks fill pages of their own


def test_the_done_list_pages_newest_first(
    login: Login, session_factory: sessionmaker[Session], seeded: dict[str, Any]
) -> None:
    done_at = datetime.now(UTC)
    with session_factory.begin() as session:
        officer = find_user(session, "scjg_officer1")
        assert officer is not None
        tasks = session.scalars(
            select(HumanTask).where(HumanTask.id.in_(seeded["task_ids"][: PAGE_SIZE + 3]))
        ).all()
        for n, task in enumerate(tasks):
            task.status = TaskStatus.COMPLETED
            task.completed_by_id = officer.id
            task.completed_at = done_at - timedelta(minutes=n // 4)

    ids, pages = _walk(login("scjg_officer1"), "/tasks/done", "done-row")

    assert len(pages) == 2
    assert sorted(ids) == sorted(t.id for t in tasks)


def test_notifications_page_newest_first_and_read_all_reaches_every_page(
    login: Login, session_factory: sessionmaker[Session], seeded: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        officer = find_user(session, "scjg_officer1")
        assert officer is not None
        flag = Flag(
            instance_id=seeded["instance_id"],
            kind=FlagKind.RED,
            reason="测试",
            since=now,
            raised_at=now,
            dedupe_key=f"paging:{uuid.uuid4()}",
        )
        session.add(flag)
        session.flush()
        for level in range(EXTRA):
            session.add(
                Notification(
                    user_id=officer.id,
                    flag_id=flag.id,
                    level=level,
                    title=f"提醒 {level}",
                    created_at=now - timedelta(minutes=level // 3),
                )
            )
    client = login("scjg_officer1")

    seen: list[int] = []
    url: str | None = "/notifications/"
    while url is not None:
        page = client.get(url).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'<li class="notification [a-z]+" id="n(\d+)"', page)]
        found = NEXT.search(page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == EXTRA

    response = client.post("/notifications/read-all", data={"csrf_token": get_csrf_token(client)})
    assert response.status_code == 302
    assert f"已将 {EXTRA} 条通知标为已读" in client.get("/notifications/").get_data(as_text=True)
