"""The consent pages: each form swaps its own section; errors come back with 422."""

from __future__ import annotations

import io

from tests.web.conftest import text


def test_page_renders_every_section_and_the_nav_link(web_admin):
    body = text(web_admin.get("/consent"))
    for anchor in (
        'id="consent-lists"',
        'id="consent-optouts"',
        'id="consent-effects"',
        'id="consent-erase"',
        'href="/consent"',
    ):
        assert anchor in body, anchor
    assert "23 Wrong number" in body


def test_create_list_and_add_entries(web_admin):
    res = web_admin.post(
        "/consent/lists", {"name": "Holds", "channel": "voice"}, htmx=True
    )
    assert res.status_code == 200
    body = text(res)
    assert body.lstrip().startswith('<section class="panel" id="consent-lists"')
    assert "Holds" in body and "<html" not in body
    again = web_admin.post("/consent/lists", {"name": "holds"}, htmx=True)
    assert again.status_code == 422 and "already used" in text(again)
    from portal.extensions import db
    from portal.models import DncList

    with web_admin.app.app_context():
        list_id = db.session.query(DncList.id).scalar()
    page = text(web_admin.get(f"/consent/lists/{list_id}"))
    assert "DNC list Holds" in page
    res = web_admin.post(
        f"/consent/lists/{list_id}/entries",
        {"primaryNumber": "(303) 555-0100", "expiresAt": "2030-01-01T10:00"},
        htmx=True,
    )
    assert res.status_code == 200 and "3035550100" in text(res)
    assert "2030-01-01 10:00 UTC" in text(res)
    bad = web_admin.post(
        f"/consent/lists/{list_id}/entries", {"primaryNumber": "12"}, htmx=True
    )
    assert bad.status_code == 422 and "field-error" in text(bad)
    upload = web_admin.client.post(
        f"/consent/lists/{list_id}/upload",
        data={
            "csrf_token": web_admin.token,
            "file": (io.BytesIO(b"3035550101,Ann\nbad\n"), "l.csv"),
        },
        headers={"HX-Request": "true"},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    assert "1 added, 0 updated, 1 rejected" in text(upload)
    assert "Line 2" in text(upload)
    found = text(web_admin.get(f"/consent/lists/{list_id}?q=0101"))
    assert "Ann" in found and "3035550100" not in found


def test_opt_out_effect_and_erase_forms(web_admin, web_supervisor):
    res = web_admin.post(
        "/consent/opt-outs", {"number": "+13035550100", "channel": "both"}, htmx=True
    )
    assert res.status_code == 200 and "+13035550100" in text(res)
    assert "yes" in text(res)
    res = web_admin.post("/consent/effects", {"callResult": "21", "effect": "close"})
    assert res.status_code == 302
    page = text(web_admin.get("/consent"))
    assert "set here" in page
    assert 'id="consent-erase"' not in text(web_supervisor.get("/consent"))
    refused = web_supervisor.post("/consent/erase", {"number": "+13035550100"})
    assert refused.status_code == 403
    res = web_admin.post(
        "/consent/erase", {"number": "+13035550100", "keepSuppressed": "1"}, htmx=True
    )
    assert res.status_code == 200 and "optOuts 1" in text(res)
    assert "+13035550100" not in text(web_admin.get("/consent"))


def test_campaign_form_sets_the_guard_and_the_dashboard_shows_the_rates(
    web_admin, seed
):
    campaign_id = seed["campaign"]
    form = text(web_admin.get(f"/campaigns/{campaign_id}/edit"))
    assert 'name="maxAbandonRate"' in form
    from portal.extensions import db
    from portal.models import Campaign

    with web_admin.app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        campaign.max_abandon_rate = 3.0
        db.session.commit()
    assert 'value="3"' in text(web_admin.get(f"/campaigns/{campaign_id}/edit"))
    dashboard = text(web_admin.get("/"))
    assert "0.0 % over 24 h, 0.0 % over 30 d (max 3.0 %)" in dashboard
