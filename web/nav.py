"""The top navigation of the layout: which entries a user sees, and the home page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import g
from flask import request
from flask import url_for
from werkzeug.routing import BuildError

from engine.models import Role
from engine.models import User
from web.labels import NAV_LABELS


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    roles: frozenset[Role] | None = None  # None: every logged-in user

    @property
    def label(self) -> str:
        return NAV_LABELS[self.endpoint]

    def shown_to(self, user: User) -> bool:
        return self.roles is None or user.role in self.roles


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("tasks.inbox"),
    NavItem("instances.start_list"),
    NavItem("tasks.done"),
    NavItem("supervision.index", frozenset({Role.COORDINATOR, Role.ADMIN})),
    NavItem("statistics.index", frozenset({Role.COORDINATOR, Role.ADMIN, Role.HEAD})),
    NavItem(
        "planning.plans",
        frozenset(
            {
                Role.OFFICER,
                Role.HEAD,
                Role.LEGAL_REVIEWER,
                Role.COORDINATOR,
                Role.DISCIPLINE_LIAISON,
                Role.ADMIN,
            }
        ),
    ),
    NavItem("admin.index", frozenset({Role.ADMIN})),
)

HOME_ENDPOINT = "tasks.inbox"


def _url(endpoint: str) -> str | None:
    try:
        return url_for(endpoint)
    except BuildError:
        return None


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    current: bool


def _is_current(item: NavItem) -> bool:
    """The entry of the page shown; a blueprint with several entries needs the exact page."""
    if request.endpoint == item.endpoint:
        return True
    blueprint = item.endpoint.split(".", 1)[0]
    siblings = [i for i in NAV_ITEMS if i.endpoint.startswith(blueprint + ".")]
    return request.blueprint == blueprint and len(siblings) == 1


def nav_links(user: User | None) -> list[NavLink]:
    """The entries the user sees, skipping pages that are not registered."""
    if user is None:
        return []
    links = []
    for item in NAV_ITEMS:
        url = _url(item.endpoint) if item.shown_to(user) else None
        if url is not None:
            links.append(NavLink(url, item.label, _is_current(item)))
    return links


def has_home_page() -> bool:
    return _url(HOME_ENDPOINT) is not None


def home_url() -> str:
    """Where a logged-in user lands: the inbox (待办), or the bare home page without one."""
    return _url(HOME_ENDPOINT) or url_for("auth.home")


def _context() -> dict[str, object]:
    user: User | None = g.get("user")
    return {"nav_links": nav_links(user), "current_user": user}


def init_app(app: Flask) -> None:
    app.context_processor(_context)
