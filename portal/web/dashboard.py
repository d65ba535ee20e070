"""The portal's home page: every campaign's progress and the feed's health, live."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.services import stats
from portal.services.enums import RequestState
from portal.services.feed import eligibility
from portal.web.htmx import is_htmx_fragment

bp = Blueprint("dashboard", __name__)

STATE_CLASSES = {
    RequestState.PENDING: "st-pending",
    RequestState.DISPATCHED: "st-dispatched",
    RequestState.COMPLETED: "st-completed",
    RequestState.MAX_ATTEMPTS: "st-max",
    RequestState.EXPIRED: "st-expired",
    RequestState.BLOCKED_DNC: "st-dnc",
    RequestState.INVALID: "st-invalid",
    RequestState.CANCELLED: "st-cancelled",
}


def _context() -> dict:
    interval = current_app.config.get("ECM_FEED_INTERVAL", 10)
    return {
        "data": stats.dashboard(current_user),
        "poll_seconds": max(2, min(5, int(interval))),
        "state_classes": STATE_CLASSES,
    }


@bp.get("/")
@login_required
def index():
    return render_template("dashboard/index.html", **_context())


@bp.get("/dashboard/live")
@login_required
def live():
    """The self-refreshing part of the dashboard; a browser gets the page."""
    if not is_htmx_fragment():
        return redirect(url_for("dashboard.index"))
    return render_template("dashboard/_live.html", **_context())


@bp.app_template_global("contact_eligibility")
def contact_eligibility_global(contact) -> dict:
    """Let any page show why a contact is (not) being dialed with just the contact."""
    return eligibility.as_dict(eligibility.contact_eligibility(contact))
