"""Notifications: the bell functions, de-duplication and e-mail through a recorded SMTP."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.errors import NotFound
from engine.execution import definitions
from engine.models import ProcessInstance
from engine.models import User
from engine.monitoring import notifications
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from engine.monitoring.notifications import Notification
from tests.integration.test_flags import REVIEW_DUE
from tests.integration.test_flags import START
from tests.integration.test_flags import Env
from tests.integration.test_flags import isolated_env
from tests.integration.test_flags import run_jobs
from tests.integration.test_flags import start_case

OVERDUE = REVIEW_DUE + timedelta(hours=1)
WARNED = START + timedelta(hours=60)  # past the review task's warn_at, before any stall


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setattr(definitions, "_DEFINITIONS", {})  # definition ids restart per database
    with isolated_env(tmp_path) as created:
        yield created


class RecordingSMTP:
    """Stands in for smtplib.SMTP: records what would be sent; can fail the first N sends."""

    sent: ClassVar[list[tuple[str, int, EmailMessage]]] = []
    failures_left = 0

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port

    def __enter__(self) -> RecordingSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send_message(self, message: EmailMessage) -> dict[str, Any]:
        if RecordingSMTP.failures_left > 0:
            RecordingSMTP.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("connection dropped")
        RecordingSMTP.sent.append((self.host, self.port, message))
        return {}


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[RecordingSMTP]:
    monkeypatch.setattr(RecordingSMTP, "sent", [])
    monkeypatch.setattr(RecordingSMTP, "failures_left", 0)
    monkeypatch.setattr(smtplib, "SMTP", RecordingSMTP)
    return RecordingSMTP


def user(env: Env, username: str) -> User:
    with env.factory.begin() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def set_email(env: Env, username: str, email: str) -> None:
    with env.factory.begin() as session:
        session.execute(update(User).where(User.username == username).values(email=email))


def case_title(env: Env) -> str:
    with env.factory.begin() as session:
        return session.scalars(select(ProcessInstance.title)).one()


def overdue_case(env: Env) -> int:
    """Start a case and let its review task run overdue: red flag, officers notified."""
    start_case(env, "TZ-1", START)
    run_jobs(env, OVERDUE)
    with env.factory.begin() as session:
        return session.scalars(select(Flag.id).where(Flag.kind == FlagKind.RED)).one()


def test_bell_counts_lists_and_marks_read(env: Env) -> None:
    flag_id = overdue_case(env)
    zhangsan = user(env, "zhangsan")
    title = case_title(env)

    with env.factory.begin() as session:
        assert notifications.unread_count(session, zhangsan) == 2  # the red flag and the stall
        listed = notifications.list_notifications(session, zhangsan)
        red = next(n for n in listed if n.flag_id == flag_id)
        assert red.title == f"已超期：{title}"
        assert red.body.startswith("「负责人审批」已超过法定期限")
        assert red.level == 0 and red.read_at is None

    with env.factory.begin() as session:
        first = notifications.mark_read(session, zhangsan, red.id, now=OVERDUE)
        again = notifications.mark_read(session, zhangsan, red.id, now=OVERDUE + timedelta(hours=1))
        assert first.read_at == again.read_at == OVERDUE
        assert notifications.unread_count(session, zhangsan) == 1


def test_a_user_cannot_read_anothers_notification(env: Env) -> None:
    overdue_case(env)
    zhangsan, head = user(env, "zhangsan"), user(env, "zhao_head")
    with env.factory.begin() as session:
        mine = notifications.list_notifications(session, zhangsan)[0]

        with pytest.raises(NotFound):
            notifications.mark_read(session, head, mine.id)
        assert notifications.list_notifications(session, head) == []


def test_notify_creates_one_row_per_user_flag_and_level(env: Env) -> None:
    flag_id = overdue_case(env)
    head = user(env, "zhao_head")

    with env.factory.begin() as session:
        first = notifications.notify(
            session,
            user_ids=[head.id, head.id],
            flag_id=flag_id,
            level=1,
            title="t",
            body="b",
            now=OVERDUE,
        )
        second = notifications.notify(
            session, user_ids=[head.id], flag_id=flag_id, level=1, title="t", body="b", now=OVERDUE
        )

    assert len(first) == 1
    assert second == []


def test_emails_go_once_to_users_with_an_address(env: Env, smtp: type[RecordingSMTP]) -> None:
    set_email(env, "zhangsan", "zhangsan@yjs.example")
    overdue_case(env)
    settings = env.settings.with_overrides(smtp_host="mail.yjs.example", smtp_port=2525)

    sent = notifications.send_pending_emails(env.factory, OVERDUE, settings)
    again = notifications.send_pending_emails(env.factory, OVERDUE, settings)

    assert (sent, again) == (2, 0)
    assert {(host, port, message["To"]) for host, port, message in smtp.sent} == {
        ("mail.yjs.example", 2525, "zhangsan@yjs.example")
    }
    title = case_title(env)
    assert {message["Subject"] for _host, _port, message in smtp.sent} == {
        f"已超期：{title}",
        f"案件停滞：{title}",
    }
    with env.factory.begin() as session:
        mailed = session.execute(
            select(User.username, Notification.emailed_at).join(
                Notification, Notification.user_id == User.id
            )
        ).all()
    assert {(name, at is not None) for name, at in mailed} == {("zhangsan", True), ("lisi", False)}


def test_without_smtp_host_nothing_is_mailed(env: Env, smtp: type[RecordingSMTP]) -> None:
    set_email(env, "zhangsan", "zhangsan@yjs.example")
    overdue_case(env)

    assert notifications.send_pending_emails(env.factory, OVERDUE, env.settings) == 0
    assert smtp.sent == []


def test_a_failed_send_is_logged_and_retried_a_few_times(
    env: Env, smtp: type[RecordingSMTP], caplog: pytest.LogCaptureFixture
) -> None:
    set_email(env, "lisi", "lisi@yjs.example")
    start_case(env, "TZ-2", START)
    run_jobs(env, WARNED)  # the yellow flag only: one mail for lisi
    settings = env.settings.with_overrides(smtp_host="mail.yjs.example")
    smtp.failures_left = notifications.MAX_EMAIL_ATTEMPTS

    with caplog.at_level(logging.ERROR, logger="engine.monitoring.notifications"):
        results = [
            notifications.send_pending_emails(env.factory, OVERDUE, settings)
            for _ in range(notifications.MAX_EMAIL_ATTEMPTS + 1)
        ]

    assert results == [0] * (notifications.MAX_EMAIL_ATTEMPTS + 1)
    assert smtp.sent == []
    assert len([r for r in caplog.records if "mailing notification" in r.getMessage()]) == 3
    with env.factory.begin() as session:
        row = session.scalars(select(Notification).join(User).where(User.username == "lisi")).one()
    assert (row.emailed_at, row.email_attempts) == (None, notifications.MAX_EMAIL_ATTEMPTS)


def test_a_send_that_fails_once_succeeds_on_the_next_run(
    env: Env, smtp: type[RecordingSMTP]
) -> None:
    set_email(env, "lisi", "lisi@yjs.example")
    start_case(env, "TZ-3", START)
    run_jobs(env, WARNED)
    settings = env.settings.with_overrides(smtp_host="mail.yjs.example")
    smtp.failures_left = 1

    first = notifications.send_pending_emails(env.factory, OVERDUE, settings)
    second = notifications.send_pending_emails(env.factory, OVERDUE, settings)

    assert (first, second) == (0, 1)
    assert [message["To"] for _host, _port, message in smtp.sent] == ["lisi@yjs.example"]
