"""Every user-supplied field the portal renders is escaped, in pages and in partials."""

from __future__ import annotations

import pytest

from tests.security.builders import (
    as_admin,
    new_campaign,
    new_contact,
    new_strategy,
    portal_login,
)

SCRIPT = "<script>alert(1)</script>"
HTMX = '<div hx-get="/logout" hx-trigger="load">x</div>'
BREAKOUT = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}{% raw %}"
RAW = (SCRIPT, HTMX, BREAKOUT)


@pytest.fixture
def hostile(app):
    """Objects of every kind whose names and fields carry markup."""

    def build(admin):
        from portal.extensions import db
        from portal.services import audit, dnc, strategies, users

        strategy = new_strategy(admin, name=HTMX)
        strategies.create_attempt(
            admin, {"csId": strategy.id, "name": BREAKOUT, "phone": "1", "channel": 0}
        )
        campaign = new_campaign(
            admin, name=SCRIPT, description=HTMX, crmCampaignId=BREAKOUT
        )
        contact = new_contact(
            admin,
            campaign,
            "+14155550123",
            businessParam1=SCRIPT,
            businessParam2=HTMX,
            businessParam3=BREAKOUT,
            businessParam4=TEMPLATE,
        )
        entry = dnc.add_entry(
            admin, {"primaryNumber": "+14155550999", "name": BREAKOUT}
        )
        users.create_user(
            admin,
            {
                "username": "mallory",
                "password": "mallory-pass-1",
                "fullName": SCRIPT,
                "email": "m@example.com",
                "role": "Viewer",
            },
        )
        audit.record(
            admin,
            "note",
            "campaign",
            campaign.id,
            {"name": [HTMX, SCRIPT]},
            summary=BREAKOUT,
        )
        db.session.commit()
        return {
            "campaign": campaign.id,
            "strategy": strategy.id,
            "contact": contact.id,
            "dnc": entry.id,
        }

    return as_admin(app, build)


def _pages(ids: dict) -> list[str]:
    return [
        "/",
        "/campaigns",
        f"/campaigns/{ids['campaign']}",
        f"/campaigns/{ids['campaign']}/contacts",
        f"/campaigns/{ids['campaign']}/edit",
        f"/contacts/{ids['contact']}",
        "/strategies",
        f"/strategies/{ids['strategy']}",
        "/dnc",
        f"/dnc/{ids['dnc']}",
        f"/dnc/{ids['dnc']}/edit",
        "/settings/users",
        "/settings/audit",
    ]


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "partial"])
def test_markup_in_user_fields_is_escaped_everywhere(app, hostile, fragment):
    client = app.test_client()
    assert portal_login(client, "admin", "admin").status_code in (302, 303)
    headers = {"HX-Request": "true"} if fragment else {}
    seen_escaped = set()
    for path in _pages(hostile):
        res = client.get(path, headers=headers)
        if res.status_code in (302, 303) and not fragment:
            continue  # a partial's URL opened as a page sends the browser to its page
        assert res.status_code == 200, (path, res.status_code)
        html = res.get_data(as_text=True)
        for payload in RAW:
            assert payload not in html, (path, payload)
        assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
        if "&lt;script&gt;alert(1)&lt;/script&gt;" in html:
            seen_escaped.add("script")
        if "&lt;div hx-get=&#34;/logout&#34;" in html:
            seen_escaped.add("htmx")
        if "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html:
            seen_escaped.add("breakout")
    # the values are shown (escaped), not dropped
    assert seen_escaped == {"script", "htmx", "breakout"}


def test_template_syntax_in_data_is_shown_literally(app, hostile):
    client = app.test_client()
    portal_login(client, "admin", "admin")
    html = client.get(f"/contacts/{hostile['contact']}").get_data(as_text=True)
    assert "{{7*7}}{% raw %}" in html
