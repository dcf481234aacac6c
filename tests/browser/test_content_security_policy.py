"""Under the Content-Security-Policy, pages break no rule and their static styles apply."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

LogIn = Callable[[str], Page]
PAGES = ("/tasks/", "/notifications/", "/admin/calendar", "/admin/registries/objects", "/login")


def _style(page: Page, selector: str, prop: str) -> str:
    value: str = page.eval_on_selector(
        selector, f"e => getComputedStyle(e).getPropertyValue({prop!r})"
    )
    return value


def test_main_pages_break_no_policy_rule_and_keep_their_look(log_in: LogIn) -> None:
    page = log_in("admin")
    violations: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", record)
    for path in PAGES:
        response = page.goto(path)
        assert response is not None and response.ok, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert violations == []
    page.goto("/notifications/")
    assert _style(page, ".bell", "display") == "inline-flex"
    page.goto("/admin/calendar")
    assert _style(page, ".filters input.short", "width") == "112px"  # 7rem, from planning.css
