"""Preferences, users and roles, the audit log and the API reference page."""

from __future__ import annotations

from tests.web.conftest import text


def test_preferences_password_is_never_echoed(app, web_admin):
    response = web_admin.post(
        "/settings/preferences",
        {
            "campaignBatchSize": "25",
            "ivrBatchSize": "",
            "filePath": "/srv/drop",
            "username": "dialer",
            "password": "db-secret-1",
        },
        htmx=True,
    )
    assert response.status_code == 200, text(response)
    body = text(response)
    assert "db-secret-1" not in body and 'placeholder="unchanged"' in body
    assert "Preferences saved." in body

    response = web_admin.post(
        "/settings/preferences", {"campaignBatchSize": "30", "password": ""}, htmx=True
    )
    assert response.status_code == 200
    from portal.services import preferences

    with app.app_context():
        prefs = preferences.current()
        assert prefs.password == "db-secret-1", (
            "an empty field keeps the stored password"
        )
        assert (prefs.campaign_batch_size, prefs.ivr_batch_size) == (30, 10)
        assert prefs.file_path is None, "an emptied field is cleared"
    page = text(web_admin.get("/settings/preferences"))
    assert "db-secret-1" not in page and 'value="30"' in page

    web_admin.post(
        "/settings/preferences", {"campaignBatchSize": "30", "clear_password": "1"}
    )
    with app.app_context():
        assert preferences.current().password is None


def test_preferences_errors_come_back_with_422(web_admin):
    response = web_admin.post(
        "/settings/preferences", {"campaignBatchSize": "0"}, htmx=True
    )
    assert response.status_code == 422
    assert 'id="preferences-form"' in text(response) and "field-error" in text(response)


def test_users_create_role_disable_and_reset(app, web_admin):
    response = web_admin.post(
        "/settings/users",
        {
            "username": "carol",
            "password": "carol-pass-1",
            "role": "Supervisor",
            "fullName": "Carol",
        },
        htmx=True,
    )
    assert response.status_code == 200, text(response)
    assert 'hx-swap-oob="beforeend:#user-rows"' in text(response)
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        carol = db.session.scalar(select(User).where(User.username == "carol"))
        carol_id, version = carol.id, carol.session_version
    duplicate = web_admin.post(
        "/settings/users", {"username": "Carol", "password": "x" * 9}, htmx=True
    )
    assert duplicate.status_code == 422 and "already taken" in text(duplicate)

    row = web_admin.post(f"/settings/users/{carol_id}", {"role": "Viewer"}, htmx=True)
    assert row.status_code == 200 and text(row).lstrip().startswith(
        f'<tr id="user-{carol_id}"'
    )
    web_admin.post(f"/settings/users/{carol_id}", {"active": "0"}, htmx=True)
    short = web_admin.post(
        f"/settings/users/{carol_id}/password", {"new_password": "short"}, htmx=True
    )
    assert short.status_code == 422 and "at least 8" in text(short)
    web_admin.post(
        f"/settings/users/{carol_id}/password",
        {"new_password": "fresh-pass-9"},
        htmx=True,
    )
    with app.app_context():
        carol = db.session.get(User, carol_id)
        assert carol.role == "Viewer" and carol.active is False
        assert carol.session_version > version


def test_admin_cannot_demote_themself(app, web_admin):
    from tests.web.conftest import admin_user

    with app.app_context():
        admin_id = admin_user().id
    response = web_admin.post(
        f"/settings/users/{admin_id}", {"role": "Viewer"}, htmx=True
    )
    assert response.status_code == 422
    assert "cannot demote or disable yourself" in text(response)


def test_audit_log_filters_and_pages(app, web_admin, seed):
    for n in range(3):
        web_admin.post("/dnc", {"primaryNumber": f"404555{n:04d}"}, htmx=True)
    everything = text(web_admin.get("/settings/audit"))
    assert "campaign" in everything and "dnc" in everything
    only_dnc = text(web_admin.get("/settings/audit?entity=dnc"))
    assert only_dnc.count('<span class="badge badge-action">create</span>') == 3
    assert "strategy #" not in only_dnc
    by_user = text(web_admin.get("/settings/audit?user=nobody"))
    assert "No entries." in by_user


def test_api_page_renders_the_openapi_document(web_admin):
    body = text(web_admin.get("/settings/api"))
    assert "/umm/ecm/campaign/createCampaignBySkilllGroup" in body
    assert "/umm/api/login" in body and "no token" in body
    assert "strategyId" in body, "request bodies list their fields"
    assert "cdn" not in body.lower() and "swagger" not in body.lower()


def test_viewer_and_supervisor_limits(web_viewer, web_supervisor):
    assert web_viewer.get("/settings/users").status_code == 403
    assert web_supervisor.get("/settings/users").status_code == 403
    page = text(web_viewer.get("/settings/preferences"))
    assert "<fieldset disabled" in page and "Save preferences" not in page
    assert (
        web_supervisor.post(
            "/settings/preferences", {"campaignBatchSize": "5"}
        ).status_code
        == 403
    )
    assert web_viewer.get("/settings/audit").status_code == 200
    nav = text(web_supervisor.get("/campaigns"))
    assert "/settings/users" not in nav and "/settings/preferences" not in nav
