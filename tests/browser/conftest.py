"""Browser fixtures: the real app under waitress on a free local port, and Debian's Chromium.

The server runs in a thread against a temporary SQLite database seeded with the demo
accounts and the web tests' process (tests/fixtures/web/web_demo). A failing test leaves a
full-page screenshot in test-artifacts/.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from waitress.server import create_server

from engine import model_registry
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo.accounts import DEMO_PASSWORD
from engine.demo.accounts import seed_demo_accounts
from engine.execution import processes
from engine.settings import Settings
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WEB_DEMO = ROOT / "tests" / "fixtures" / "web" / "web_demo"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_db(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    path = tmp_path_factory.mktemp("browser") / "xietong.db"
    settings = Settings(database_url=f"sqlite:///{path}", run_scheduler_in_process=False)
    engine = make_engine(settings)
    model_registry.metadata().create_all(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        seed_demo_accounts(session)
        processes.deploy_folders(session, [WEB_DEMO], actor="tester")
    return factory


@pytest.fixture(scope="session")
def base_url(browser_db: sessionmaker[Session]) -> Iterator[str]:
    """URL of the running app (waitress, 127.0.0.1, a free port chosen by the OS)."""
    settings = Settings(secret_key="browser-test-secret", run_scheduler_in_process=False)
    app = create_app(settings, session_factory=browser_db)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; a screenshot lands in test-artifacts/ on failure."""
    context = browser.new_context(
        base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def log_in(page: Page) -> Callable[[str], Page]:
    """Log in through the login form as a demo user (logging out whoever was in)."""

    def sign_in(username: str) -> Page:
        page.context.clear_cookies()
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click(".login-box button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return sign_in
