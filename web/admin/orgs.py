"""Admin pages for organizations (机构管理)."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.models import OrgType
from engine.people import accounts
from web.labels import ORG_TYPE_LABELS
from web.labels import field_errors
from web.labels import message
from web.session import get_session


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/orgs", "orgs", orgs_page, methods=["GET"])
    bp.add_url_rule("/orgs", "org_create", org_create, methods=["POST"])
    bp.add_url_rule("/orgs/<code>/active", "org_set_active", org_set_active, methods=["POST"])


def _render(errors: dict[str, str], form: dict[str, str], status: int = 200) -> tuple[str, int]:
    page = render_template(
        "admin/orgs.html",
        orgs=accounts.list_orgs(get_session()),
        org_types=ORG_TYPE_LABELS,
        errors=errors,
        form=form,
    )
    return page, status


def orgs_page() -> tuple[str, int]:
    return _render({}, {})


def org_create() -> tuple[str, int] | Response:
    form = {k: request.form.get(k, "").strip() for k in ("code", "type", "name")}
    if form["type"] not in set(OrgType):
        return _render(field_errors(["type"]), form, 400)
    try:
        accounts.create_org(
            get_session(), code=form["code"], org_type=OrgType(form["type"]), name=form["name"]
        )
    except InvalidTaskData as exc:
        return _render(field_errors(exc.field_errors), form, 400)
    except Conflict:
        return _render({"code": message("org_code_taken")}, form, 400)
    get_session().commit()
    flash(message("org_created", name=form["name"]), "success")
    return redirect(url_for("admin.orgs"))


def org_set_active(code: str) -> Response:
    org = accounts.get_org(get_session(), code)
    accounts.set_org_active(get_session(), org, request.form.get("active") == "1")
    get_session().commit()
    flash(message("org_enabled" if org.active else "org_disabled", name=org.name), "success")
    return redirect(url_for("admin.orgs"))
