"""The `?after=` cursor of list pages and the URL of their 下一页 link."""

from __future__ import annotations

from typing import Any

from flask import request
from flask import url_for


def after_arg(name: str = "after") -> str | None:
    """The cursor the request asks to continue after (None on a first page)."""
    return request.args.get(name) or None


def next_url(cursor: str | None, name: str = "after") -> str | None:
    """This page's URL with its other query arguments kept and the cursor set to `cursor`."""
    if cursor is None or request.endpoint is None:
        return None
    args: dict[str, Any] = {key: value for key, value in request.args.items() if key != name}
    args.update(request.view_args or {})
    args[name] = cursor
    return url_for(request.endpoint, **args)


def first_url(name: str = "after") -> str | None:
    """This page's URL without the cursor, when the request has one (for 第一页)."""
    if not request.args.get(name) or request.endpoint is None:
        return None
    args: dict[str, Any] = {key: value for key, value in request.args.items() if key != name}
    args.update(request.view_args or {})
    return url_for(request.endpoint, **args)
