"""问题线索办理状态: the reporter follows a confidential referral without seeing its contents."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import render_template

from engine.cases import referrals
from engine.errors import NotFound
from web.auth import login_required
from web.labels import REFERRAL_STAGE_LABELS
from web.session import get_session
from web.task_display import signed_in_user

bp = Blueprint("referrals", __name__, url_prefix="/referrals")


@bp.get("/<int:instance_id>")
@login_required
def status(instance_id: int) -> str:
    """The stage and dates of a referral the signed-in user reported (404 for anyone else)."""
    session, user = get_session(), signed_in_user()
    try:
        referral = referrals.get_referral_status(session, user, instance_id)
    except NotFound:
        abort(404)
    session.commit()  # keeps the audit record of the status read
    return render_template(
        "referrals/status.html", referral=referral, stage_labels=REFERRAL_STAGE_LABELS
    )
