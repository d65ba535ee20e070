"""The portal's session: throttled sign-in, cookie flags, and revocation on change."""

from __future__ import annotations

import pytest

from portal.config import Config
from tests.conftest import login_token, make_user
from tests.security.builders import as_admin, csrf_token, portal_login


def _session_cookie(response) -> str:
    cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    assert cookies, response.headers
    return cookies[-1]


def test_sign_in_sets_a_hardened_session_cookie(client, app):
    res = portal_login(client, "admin", "admin")
    assert res.status_code in (302, 303)
    cookie = _session_cookie(res)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # embedded mode serves plain http on localhost


def test_production_cookie_is_secure(app_factory):
    production = Config(env={"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert production.SESSION_COOKIE_SECURE is True
    assert production.SESSION_COOKIE_HTTPONLY is True
    assert production.SESSION_COOKIE_SAMESITE == "Lax"
    assert Config(env={}).SESSION_COOKIE_SECURE is False
    app = app_factory(SESSION_COOKIE_SECURE=True)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    res = portal_login(app.test_client(), "admin", "admin")
    cookie = _session_cookie(res)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_in_without_csrf_token_is_refused(client, app):
    res = client.post("/login", data={"username": "admin", "password": "admin"})
    assert res.status_code == 400
    assert not _signed_in(client)


def test_wrong_password_is_the_same_answer_for_unknown_users(client, app):
    known = portal_login(client, "admin", "nope")
    unknown = portal_login(client, "nobody-at-all", "nope")
    assert known.status_code == unknown.status_code == 401
    assert "Invalid username or password" in known.get_data(as_text=True)
    assert "Invalid username or password" in unknown.get_data(as_text=True)


@pytest.fixture
def limited_app(app_factory):
    app = app_factory(
        RATELIMIT_ENABLED=True,
        ECM_LOGIN_LIMIT="3 per minute",
        ECM_LOGIN_ADDRESS_LIMIT="3 per minute",
        ECM_LOGIN_MAX_WAIT=0,
    )
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
        make_user("Supervisor", "carol", "carol-password-1")
    return app


def test_portal_and_api_logins_share_the_limits(limited_app):
    client = limited_app.test_client()
    api = client.post(
        "/umm/api/login",
        json={"username": "carol", "password": "x"},
        environ_base={"REMOTE_ADDR": "10.1.0.1"},
    )
    assert api.status_code == 401
    assert portal_login(client, "carol", "x", "10.1.0.1").status_code == 401
    assert portal_login(client, "Carol", "x", "10.1.0.1").status_code == 401
    blocked = portal_login(client, "carol", "carol-password-1", "10.1.0.1")
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"]
    api = client.post(
        "/umm/api/login",
        json={"username": "carol", "password": "carol-password-1"},
        environ_base={"REMOTE_ADDR": "10.1.0.1"},
    )
    assert api.status_code == 429


def test_portal_login_page_stays_reachable_when_throttled(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        assert portal_login(client, "ghost", "x", "10.2.0.1").status_code == 401
    assert (
        portal_login(client, "carol", "carol-password-1", "10.2.0.1").status_code == 429
    )
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert page.status_code == 200


def test_successful_portal_logins_are_not_counted(limited_app):
    for _ in range(5):
        client = limited_app.test_client()
        res = portal_login(client, "carol", "carol-password-1", "10.3.0.1")
        assert res.status_code in (302, 303)


def _signed_in(client) -> bool:
    res = client.get("/campaigns")
    if res.status_code == 200:
        return True
    assert res.status_code in (302, 303, 401)
    return False


@pytest.mark.parametrize("change", ["disable", "password", "role"])
def test_account_changes_end_portal_sessions_and_api_tokens(app, change):
    from portal.services import users

    user_id = as_admin(
        app, lambda admin: make_user("Supervisor", "dave", "dave-password-1").id
    )
    browser = app.test_client()
    assert portal_login(browser, "dave", "dave-password-1").status_code in (302, 303)
    assert _signed_in(browser)
    api_client = app.test_client()
    token = login_token(api_client, "dave", "dave-password-1")
    headers = {"Authorization": f"Bearer {token}"}
    assert api_client.get("/umm/ecm/campaign", headers=headers).status_code == 200

    def apply(admin):
        if change == "disable":
            users.update_user(admin, {"id": user_id, "active": False})
        elif change == "password":
            users.set_password(
                admin, users.get_user(admin, user_id), "reset-by-admin-1"
            )
        else:
            users.update_user(admin, {"id": user_id, "role": "Viewer"})

    as_admin(app, apply)
    assert not _signed_in(browser)
    assert api_client.get("/umm/ecm/campaign", headers=headers).status_code == 401


def test_own_password_change_keeps_this_session_and_ends_the_others(app):
    as_admin(app, lambda admin: make_user("Supervisor", "erin", "erin-password-1"))
    here, elsewhere = app.test_client(), app.test_client()
    for client in (here, elsewhere):
        assert portal_login(client, "erin", "erin-password-1").status_code in (302, 303)
    token = csrf_token(here, "/account")
    res = here.post(
        "/account",
        data={
            "csrf_token": token,
            "current_password": "erin-password-1",
            "new_password": "erin-password-2",
            "confirm_password": "erin-password-2",
        },
    )
    assert res.status_code in (302, 303)
    assert _signed_in(here)
    assert not _signed_in(elsewhere)


def test_logout_ends_the_session(app):
    client = app.test_client()
    assert portal_login(client, "admin", "admin").status_code in (302, 303)
    token = csrf_token(client, "/campaigns")
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert not _signed_in(client)


def _copy_session(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


def _dnc_create(client, csrf: str, number: str):
    return client.post(
        "/dnc",
        data={"primaryNumber": number, "name": "Copied cookie"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
    )


def test_a_copied_cookie_dies_with_logout(app):
    """Finding 3: a cookie copied before logout still read pages and wrote DNC rows."""
    browser, thief = app.test_client(), app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    csrf = csrf_token(browser, "/campaigns")
    _copy_session(browser, thief)
    assert _signed_in(thief)  # the copy works while the session lives
    assert _dnc_create(thief, csrf, "+14155550111").status_code in (200, 201)

    assert browser.post("/logout", data={"csrf_token": csrf}).status_code in (302, 303)
    assert not _signed_in(thief)
    res = _dnc_create(thief, csrf, "+14155550112")
    assert res.status_code in (400, 401)  # refused: no session (or no CSRF session)
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import DncEntry

        numbers = set(db.session.scalars(select(DncEntry.primary_number)))
    assert "+14155550112" not in numbers and "4155550112" not in numbers


def test_a_cookie_replayed_with_the_old_session_id_after_a_new_sign_in_is_dead(app):
    """Signing in again does not revive an ended session id."""
    browser, thief = app.test_client(), app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    _copy_session(browser, thief)
    csrf = csrf_token(browser, "/campaigns")
    browser.post("/logout", data={"csrf_token": csrf})
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    assert _signed_in(browser)
    assert not _signed_in(thief)


def test_logout_ends_only_that_session(app):
    here, elsewhere = app.test_client(), app.test_client()
    for client in (here, elsewhere):
        assert portal_login(client, "admin", "admin").status_code in (302, 303)
    csrf = csrf_token(here, "/campaigns")
    here.post("/logout", data={"csrf_token": csrf})
    assert not _signed_in(here)
    assert _signed_in(elsewhere)


def test_a_forged_session_without_a_server_side_record_is_refused(app):
    """A cookie that names a user and version but no live session id is signed out."""
    client = app.test_client()
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import User

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        user_id = admin.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
        session["sid"] = "made-up-session-id"
    assert not _signed_in(client)
