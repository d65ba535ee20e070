"""Feed endpoints over HTTP and the dashboard pages, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import CallResultInbox, Contact, utcnow
from portal.services.feed import run_tick
from tests.feed.support import (
    RecordingDialer,
    add_contacts,
    make_campaign,
    make_strategy,
)


def _world(app):
    with app.app_context():
        from portal.models import User

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        strategy = make_strategy(admin)
        campaign = make_campaign(admin, strategy, name="Renewals", timeZone="UTC")
        ids = add_contacts(campaign, 3)
        return campaign.id, ids


def test_result_endpoint_queues_and_refuses(api, app):
    campaign_id, ids = _world(app)
    with app.app_context():
        run_tick(dialer=RecordingDialer())
        number = db.session.get(Contact, ids[1]).number_to_call
    ok = api.post(
        "/umm/ecm/callback/result", {"id": ids[0], "callResult": 10, "raw": "ANSWERED"}
    )
    assert ok.status_code == 200, ok.get_json()
    by_number = api.post(
        "/umm/ecm/callback/result",
        {"numberToCall": number, "campaignId": str(campaign_id), "callResult": 8},
    )
    assert by_number.status_code == 200 and by_number.get_json()["id"] == ids[1]
    assert (
        api.post(
            "/umm/ecm/callback/result", {"id": 999999, "callResult": 10}
        ).status_code
        == 404
    )
    assert (
        api.post(
            "/umm/ecm/callback/result", {"id": ids[0], "callResult": 77}
        ).status_code
        == 406
    )
    assert (
        api.post(
            "/umm/ecm/callback/result", {"id": ids[0], "callResult": 0}
        ).status_code
        == 406
    )
    assert api.post("/umm/ecm/callback/result", {"callResult": 10}).status_code == 406
    assert (
        api.post(
            "/umm/ecm/callback/result", {"id": 10**30, "callResult": 10}
        ).status_code
        == 406
    )
    assert (
        api.post(
            "/umm/ecm/callback/result",
            {"numberToCall": "abc", "campaignId": campaign_id, "callResult": 10},
        ).status_code
        == 406
    )
    assert (
        api.post(
            "/umm/ecm/callback/result",
            {"numberToCall": "2025550100", "campaignId": 999999, "callResult": 10},
        ).status_code
        == 404
    )
    assert api.post("/umm/ecm/callback/result", [1, 2]).status_code in (400, 406)
    assert api.get(
        "/umm/ecm/callback/99999999999999999999/eligibility"
    ).status_code in (404, 406)
    assert (
        api.post("/umm/ecm/callback/result", {"id": "x", "callResult": "y"}).status_code
        == 406
    )
    assert (
        api.post(
            "/umm/ecm/callback/result", {"id": ids[0], "callResult": 10, "extra": 1}
        ).status_code
        == 406
    )
    bad = api.client.post(
        "/umm/ecm/callback/result",
        data="{nope",
        headers={
            "Authorization": f"Bearer {api.token}",
            "Content-Type": "application/json",
        },
    )
    assert bad.status_code == 400
    with app.app_context():
        run_tick(utcnow() + timedelta(seconds=1), dialer=RecordingDialer())
        assert db.session.get(Contact, ids[0]).request_state == 2
        # closed now: a second result is refused
    again = api.post("/umm/ecm/callback/result", {"id": ids[0], "callResult": 10})
    assert again.status_code == 406
    with app.app_context():
        assert db.session.scalar(select(CallResultInbox.id)) is None


def test_viewer_may_read_but_not_post_results(viewer_api, app):
    _, ids = _world(app)
    assert (
        viewer_api.post(
            "/umm/ecm/callback/result", {"id": ids[0], "callResult": 10}
        ).status_code
        == 403
    )
    res = viewer_api.get(f"/umm/ecm/callback/{ids[0]}/eligibility")
    assert res.status_code == 200


def test_eligibility_endpoint_lists_every_reason(api, app):
    campaign_id, ids = _world(app)
    assert (
        api.post(
            "/umm/ecm/campaign/campaignUpdateStatus",
            {"id": campaign_id, "status": "pause"},
        ).status_code
        == 200
    )
    res = api.get(f"/umm/ecm/callback/{ids[0]}/eligibility")
    body = res.get_json()
    assert res.status_code == 200
    assert body["eligible"] is False
    assert "campaign_paused" in {r["code"] for r in body["reasons"]}
    assert api.get("/umm/ecm/callback/999999/eligibility").status_code == 404
    assert api.client.get(f"/umm/ecm/callback/{ids[0]}/eligibility").status_code == 401


def test_stats_endpoint_matches_the_dashboard_figures(api, app):
    campaign_id, ids = _world(app)
    with app.app_context():
        run_tick(dialer=RecordingDialer())
    res = api.get(f"/umm/ecm/campaign/{campaign_id}/stats")
    body = res.get_json()
    assert res.status_code == 200
    counts = {s["state"]: s["count"] for s in body["states"]}
    assert counts[1] == 3 and body["total"] == 3
    assert len(body["dialsPerHour"]) == 24
    assert api.get("/umm/ecm/campaign/424242/stats").status_code == 404
    spec = api.get("/umm/openapi.json").get_json()
    assert "/umm/ecm/callback/{contact_id}/eligibility" in spec["paths"]
    assert "/umm/ecm/callback/result" in spec["paths"]


def _login(client):
    page = client.get("/login")
    import re

    token = re.search(
        r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)
    ).group(1)
    res = client.post(
        "/login", data={"username": "admin", "password": "admin", "csrf_token": token}
    )
    assert res.status_code in (302, 303), res.get_data(as_text=True)[:500]


def test_dashboard_page_and_live_partial(client, app):
    campaign_id, ids = _world(app)
    assert client.get("/").status_code in (302, 303)  # sign in first
    _login(client)
    with app.app_context():
        run_tick(dialer=RecordingDialer())
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Renewals" in html and 'hx-trigger="every' in html and "<svg" in html
    assert 'style="' not in html
    live = client.get("/dashboard/live", headers={"HX-Request": "true"})
    text = live.get_data(as_text=True)
    assert live.status_code == 200 and text.lstrip().startswith(
        '<div id="dashboard-live"'
    )
    assert "<html" not in text and "Dispatched" in text
    assert client.get("/dashboard/live").status_code == 302  # not a fragment request


def test_eligibility_partial_needs_only_contact_and_campaign(app):
    campaign_id, ids = _world(app)
    from flask import render_template

    with app.test_request_context("/"):
        from portal.models import Campaign

        contact = db.session.get(Contact, ids[0])
        campaign = db.session.get(Campaign, campaign_id)
        html = render_template(
            "feed/_eligibility.html", contact=contact, campaign=campaign
        )
        assert "Dialing eligibility" in html and "Eligible now" in html
        campaign.enabled = False
        db.session.commit()
        html = render_template(
            "feed/_eligibility.html", contact=contact, campaign=campaign
        )
        assert 'data-reason="campaign_disabled"' in html and 'style="' not in html


def test_dashboard_reads_snapshots_and_the_refresh_job_recounts(admin):
    from portal.services import stats
    from tests.feed.support import add_contacts as add

    strategy = make_strategy(admin)
    campaign = make_campaign(admin, strategy, name="Snap")
    add(campaign, 3)
    assert stats.figures([campaign], max_age=60)[0]["total"] == 3  # counted, stored
    add(campaign, 2)
    assert stats.figures([campaign], max_age=60)[0]["total"] == 3  # the snapshot
    assert stats.figures([campaign])[0]["total"] == 5  # the API counts live
    assert stats.refresh() == 1
    cached = stats.figures([campaign], max_age=60)[0]
    assert cached["total"] == 5 and cached["eligibility"]["pending"] == 5
    campaign.status = 0  # campaign settings are always current, not from the snapshot
    db.session.commit()
    paused = stats.figures([campaign], max_age=60)[0]
    assert paused["status"] == "Paused"
    assert paused["eligibility"]["dialableNow"] == 0
