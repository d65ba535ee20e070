"""Sign in, sign out and change one's own password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.http.throttle import throttle_login
from portal.services import auth, users
from portal.services.errors import ValidationFailed
from portal.web.htmx import expect_form, form_values, render
from portal.web.session import actor

bp = Blueprint("auth", __name__)
SESSION_ID = "sid"  # the server-side portal session this cookie belongs to


# A local path: one "/" then URL characters only (RFC 3986 path, query, fragment).
# No control characters, spaces, backslashes or non-ASCII, which browsers strip or
# rewrite ("/\t/evil" becomes "//evil"), and no "//" or "/\\" authority.
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#]*\Z")


def _safe_next(target: object) -> str | None:
    """Only follow a local path after login (never another site), else None."""
    if not isinstance(target, str) or len(target) > 2048:
        return None
    if not LOCAL_PATH.match(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@throttle_login(methods=["POST"])
def login():
    from portal.web import home_url

    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url())
    values = {
        "username": request.form.get("username", ""),
        "next": request.values.get("next", ""),
    }
    expect_form("auth/login.html", "auth/login.html", v=values)
    if request.method == "GET":
        return render("auth/login.html", "auth/login.html", v=values)
    user = auth.authenticate(request.form.get("username"), request.form.get("password"))
    session.clear()  # a fresh session at every sign-in
    session[SESSION_ID] = auth.start_portal_session(user)
    login_user(user)
    return redirect(_safe_next(values["next"]) or home_url())


@bp.route("/logout", methods=["POST"])
def logout():
    auth.end_portal_session(session.get(SESSION_ID))
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _own_username() -> str:
    return str(current_user.username).strip().lower()


@bp.route("/account", methods=["GET", "POST"])
@login_required
@throttle_login(methods=["POST"], account=_own_username)
def account():
    expect_form("auth/account.html", "auth/_password_form.html")
    if request.method == "GET":
        return render("auth/account.html", "auth/_password_form.html")
    values = form_values(request.form)
    if values.get("new_password") != values.get("confirm_password"):
        raise ValidationFailed({"confirm_password": "does not match the new password"})
    user = actor()
    users.change_password(
        user, values.get("current_password", ""), values.get("new_password", "")
    )
    login_user(user)  # the password change ended every session; keep this one
    flash(
        "Your password is changed. Other sessions of your account are signed out.",
        "success",
    )
    return redirect(url_for("auth.account"))
