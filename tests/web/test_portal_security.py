"""Roles, CSRF, escaping and the CSP-safe markup of every portal page."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import admin_user, text

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = 'x" hx-get="/x'


def test_viewer_sees_no_write_buttons(web_viewer, seed):
    for path in ("/campaigns", f"/campaigns/{seed['campaign']}", "/strategies", "/dnc"):
        body = text(web_viewer.get(path))
        for label in (
            ">Pause<",
            ">Delete<",
            ">Edit<",
            "New campaign",
            "Add a single contact",
            "Add to DNC list",
            "Create strategy",
        ):
            assert label not in body, (path, label)


def test_supervisor_sees_write_buttons_but_not_admin_pages(web_supervisor, seed):
    body = text(web_supervisor.get("/campaigns"))
    assert ">Pause<" in body and "New campaign" in body
    assert "/settings/users" not in body


@pytest.mark.parametrize(
    "path, data",
    [
        ("/campaigns/{campaign}/status", {"status": "pause"}),
        ("/campaigns/{campaign}/delete", {}),
        ("/campaigns/{campaign}/edit", {"name": "Hijacked"}),
        ("/campaigns/new", {"name": "Forged", "strategyId": "{strategy}"}),
        ("/campaigns/{campaign}/contacts", {"phone1": "2025550100"}),
        ("/strategies", {"name": "Forged"}),
        ("/strategies/{strategy}", {"name": "Forged"}),
        ("/dnc", {"primaryNumber": "2025550100"}),
        ("/settings/preferences", {"campaignBatchSize": "1"}),
    ],
)
def test_forged_viewer_posts_are_refused_by_the_services(
    app, web_viewer, seed, path, data
):
    url = path.format(**seed)
    payload = {k: v.format(**seed) for k, v in data.items()}
    page = web_viewer.post(url, payload)
    assert page.status_code == 403, text(page)
    assert "<html" in text(page) and "permission" in text(page)
    fragment = web_viewer.post(url, payload, htmx=True)
    assert fragment.status_code == 403
    assert (
        "<html" not in text(fragment) and fragment.headers["HX-Retarget"] == "#messages"
    )
    from portal.extensions import db
    from portal.models import Campaign

    with app.app_context():
        campaign = db.session.get(Campaign, seed["campaign"])
        assert campaign.status == 1 and campaign.name == "Base campaign"


def test_writes_without_csrf_token_are_refused(web_admin, seed):
    response = web_admin.post(
        f"/campaigns/{seed['campaign']}/status", {"status": "pause"}, csrf=False
    )
    assert response.status_code == 400
    fragment = web_admin.post(
        f"/campaigns/{seed['campaign']}/status",
        {"status": "pause"},
        csrf=False,
        htmx=True,
    )
    assert (
        fragment.status_code == 400 and fragment.headers["HX-Retarget"] == "#messages"
    )
    header = web_admin.client.post(
        f"/campaigns/{seed['campaign']}/status",
        data={"status": "pause"},
        headers={"HX-Request": "true", "X-CSRFToken": web_admin.token},
    )
    assert header.status_code == 200, "the hx-headers token is accepted"


def test_names_are_escaped_everywhere(app, web_admin, seed):
    from portal.services import campaigns, dnc, strategies

    with app.app_context():
        admin = admin_user()
        strategy = strategies.create_strategy(admin, {"name": XSS_ATTR})
        campaigns.create_campaign(
            admin,
            {"name": XSS_SCRIPT, "strategyId": strategy.id, "description": XSS_ATTR},
        )
        dnc.add_entry(admin, {"primaryNumber": "2025550123", "name": XSS_SCRIPT})
        dnc.add_entry(admin, {"primaryNumber": "2025550124", "name": XSS_ATTR})
    for path in (
        "/campaigns",
        "/strategies",
        "/dnc",
        "/settings/audit",
        f"/campaigns/{seed['campaign']}/edit",
    ):
        body = text(web_admin.get(path))
        assert XSS_SCRIPT not in body, path
        assert 'hx-get="/x"' not in body, path
    body = text(web_admin.get("/campaigns"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "hx-get=&#34;/x" in body


def test_every_page_is_csp_clean(web_admin, seed):
    """No inline script or style, no event-handler attributes, no outside hosts."""
    from portal.services import contacts

    with web_admin.app.app_context():
        contact_id = contacts.insert_contact(
            admin_user(), {"campaignId": seed["campaign"], "phone1": "2025550111"}
        ).id
    paths = [
        "/campaigns",
        "/campaigns/new",
        f"/campaigns/{seed['campaign']}",
        f"/campaigns/{seed['campaign']}/edit",
        f"/contacts/{contact_id}",
        "/strategies",
        f"/strategies/{seed['strategy']}",
        "/dnc",
        "/settings/preferences",
        "/settings/users",
        "/settings/audit",
        "/settings/api",
        "/account",
        "/login",
    ]
    for path in paths:
        response = (
            web_admin.get(path)
            if path != "/login"
            else web_admin.app.test_client().get(path)
        )
        assert response.status_code == 200, path
        body = text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\sstyle=", body), path
        assert not re.search(r"<style", body), path
        assert not re.search(r"\son[a-z]+=", body), path
        assert not re.search(r"hx-on", body), path
        assert not re.search(r'(src|href)="(https?:)?//', body), path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    base = text(web_admin.get("/campaigns"))
    assert "htmx-2.0.11.min.js" in base
    assert '"allowEval": false' in base and '"includeIndicatorStyles": false' in base
    assert 'hx-headers=\'{"X-CSRFToken": "' in base
