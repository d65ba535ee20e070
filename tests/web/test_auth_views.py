"""Sign-in, sessions bound to the user's session version, password change, banner."""

from __future__ import annotations

from tests.web.conftest import Browser, csrf_from, text


def test_signed_out_pages_redirect_to_login_with_next(client):
    response = client.get("/campaigns")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/campaigns")


def test_htmx_request_when_signed_out_gets_hx_redirect(client):
    response = client.get("/campaigns/new", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_bad_password_rerenders_the_form_with_401(app):
    browser = Browser(app)
    response = browser.login("admin", "wrong-password")
    assert response.status_code == 401
    body = text(response)
    assert "Invalid username or password" in body
    assert 'name="username"' in body


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "admin", "password": "admin"})
    assert response.status_code == 400
    assert "expired" in text(response)


def test_login_starts_a_fresh_session_and_follows_only_local_next(app):
    browser = Browser(app)
    with browser.client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    page = browser.client.get("/login?next=//evil.example/x")
    response = browser.client.post(
        "/login",
        data={
            "username": "admin",
            "password": "admin",
            "next": "//evil.example/x",
            "csrf_token": csrf_from(text(page)),
        },
    )
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    with browser.client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith("1:") or ":" in session["_user_id"]


def test_login_follows_a_local_next(app):
    browser = Browser(app)
    page = browser.client.get("/login?next=/dnc")
    response = browser.client.post(
        "/login",
        data={
            "username": "admin",
            "password": "admin",
            "next": "/dnc",
            "csrf_token": csrf_from(text(page)),
        },
    )
    assert response.headers["Location"] == "/dnc"


def test_logout_ends_the_session(web_admin):
    response = web_admin.post("/logout")
    assert response.status_code == 302
    assert web_admin.get("/campaigns").status_code == 302


def test_logout_needs_post_and_csrf(web_admin):
    assert web_admin.get("/logout").status_code == 405
    assert web_admin.post("/logout", csrf=False).status_code == 400
    assert web_admin.get("/campaigns").status_code == 200


def test_disabling_a_user_ends_their_session(app, web_admin, web_viewer):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    assert web_viewer.get("/campaigns").status_code == 200
    with app.app_context():
        viewer_id = db.session.scalar(
            select(User.id).where(User.username == "viewer-web")
        )
    response = web_admin.post(
        f"/settings/users/{viewer_id}", {"active": "0"}, htmx=True
    )
    assert response.status_code == 200
    assert "Disabled" in text(response)
    assert web_viewer.get("/campaigns").status_code == 302


def test_stale_session_version_is_refused(app, web_viewer):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "viewer-web"))
        user.session_version += 1
        db.session.commit()
    assert web_viewer.get("/campaigns").status_code == 302


def test_malformed_session_id_is_refused(app, web_viewer):
    with web_viewer.client.session_transaction() as session:
        session["_user_id"] = "not-a-number"
    assert web_viewer.get("/campaigns").status_code == 302


def test_default_password_banner_until_changed(app, web_admin):
    page = text(web_admin.get("/campaigns"))
    assert "signed in with the default password" in page

    response = web_admin.post(
        "/account",
        {
            "current_password": "nope",
            "new_password": "a-better-one",
            "confirm_password": "a-better-one",
        },
        htmx=True,
    )
    assert response.status_code == 422
    assert "is not correct" in text(response)
    assert "<html" not in text(response)

    response = web_admin.post(
        "/account",
        {
            "current_password": "admin",
            "new_password": "a-better-one",
            "confirm_password": "different",
        },
    )
    assert response.status_code == 422
    assert "does not match" in text(response)
    assert "<html" in text(response)

    response = web_admin.post(
        "/account",
        {
            "current_password": "admin",
            "new_password": "a-better-one",
            "confirm_password": "a-better-one",
        },
    )
    assert response.status_code == 302
    page = web_admin.get("/campaigns")
    assert page.status_code == 200, "the changing session stays signed in"
    assert "signed in with the default password" not in text(page)
    other = Browser(app)
    assert other.login("admin", "a-better-one").status_code == 302


def test_viewer_has_no_default_password_banner(web_viewer):
    assert "default password" not in text(web_viewer.get("/campaigns"))
