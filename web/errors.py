"""Map engine errors and HTTP errors to Chinese pages, flash messages or JSON (under /api/)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from engine.errors import Conflict
from engine.errors import DomainRuleViolation
from engine.errors import EngineError
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.errors import ScriptFailed
from engine.errors import WorkflowDefinitionError
from web.labels import HTTP_ERROR_LABELS
from web.labels import error_label
from web.nav import home_url

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# Most specific first: InstanceLocked is a Conflict, UnsafeScript a ScriptFailed.
STATUS_BY_ERROR: tuple[tuple[type[EngineError], int], ...] = (
    (NotFound, 404),
    (NotAllowed, 403),
    (Conflict, 409),
    (InvalidTaskData, 422),
    (DomainRuleViolation, 422),
    (WorkflowDefinitionError, 422),
    (ScriptFailed, 422),
)


def status_for(exc: EngineError) -> int:
    """The HTTP status an engine error answers with."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 400


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def _field_errors(exc: EngineError) -> dict[str, str]:
    errors: dict[str, str] = getattr(exc, "field_errors", {}) or {}
    return errors


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if referrer and referrer.startswith(request.host_url):
        return referrer
    return None


def api_body(
    code: str, message: str, fields: Mapping[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """The JSON error body of the API: {"code", "message", "fields"} (plus e.g. "problems")."""
    return {"code": code, "message": message, "fields": dict(fields or {}), **extra}


def api_error(
    code: str, message: str, status: int, fields: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], int]:
    return api_body(code, message, fields), status


def handle_engine_error(exc: EngineError) -> Any:
    """An engine error a view did not handle: JSON, an error page, or flash and go back."""
    status = status_for(exc)
    logger.info("engine error %s on %s %s: %s", exc.code, request.method, request.path, exc)
    if _is_api():
        return api_error(exc.code, error_label(exc.code), status, _field_errors(exc))
    if status in (403, 404) or request.method == "GET":
        return _error_page(status, error_label(exc.code))
    flash(error_label(exc.code), "error")
    return redirect(_same_site_referrer() or home_url())


def _error_page(status: int, message: str) -> tuple[str, int]:
    template = "errors/404.html" if status == 404 else "errors/error.html"
    return render_template(template, status=status, message=message), status


def allow_header(exc: HTTPException) -> dict[str, str]:
    """The `Allow` header a 405 must carry (RFC 9110), empty for other errors."""
    return {name: value for name, value in exc.get_headers() if name == "Allow"}


def handle_http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if status == 400 and exc.description == "csrf_failed":
        message = error_label("csrf_failed")
    else:
        message = HTTP_ERROR_LABELS.get(status, HTTP_ERROR_LABELS[400])
    if _is_api():
        return (*api_error(f"http_{status}", message, status), allow_header(exc))
    return (*_error_page(status, message), allow_header(exc))


def handle_internal_error(exc: InternalServerError) -> Any:
    """An unhandled exception (Flask has logged its traceback): a 500 without details."""
    if _is_api():
        return api_error("internal_error", HTTP_ERROR_LABELS[500], 500)
    return _error_page(500, HTTP_ERROR_LABELS[500])


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_internal_error)
