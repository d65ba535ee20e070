"""Campaign list, inline create/edit, pause/resume, delete, campaign page, contacts."""

from __future__ import annotations

import re

from sqlalchemy import event

from tests.web.conftest import admin_user, text

VALID = {
    "name": "Winter sale",
    "strategyId": "",
    "type": "0",
    "dialerType": "PREDICTIVE",
    "weekDays": ["1", "2", "3", "4", "5"],
    "startTime": "08:00",
    "endTime": "20:00",
    "timeZone": "Europe/London",
    "enabled": "1",
}


def _form(seed, **changes):
    data = {**VALID, "strategyId": str(seed["strategy"]), **changes}
    return [
        (k, v)
        for k, values in data.items()
        for v in (values if isinstance(values, list) else [values])
    ]


def test_list_is_a_full_page_and_lists_states(web_admin, seed):
    response = web_admin.get("/campaigns")
    assert response.status_code == 200
    body = text(response)
    assert "<html" in body and "Base campaign" in body
    assert "badge-running" in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_new_form_is_a_fragment_for_htmx_and_a_page_otherwise(web_admin, seed):
    fragment = text(web_admin.get("/campaigns/new", htmx=True))
    assert "<html" not in fragment and 'name="strategyId"' in fragment
    assert "Collections_Predictive" in fragment, (
        "dialer campaigns come from the adapter"
    )
    page = text(web_admin.get("/campaigns/new"))
    assert "<html" in page and 'name="strategyId"' in page
    boosted = text(
        web_admin.get(
            "/campaigns/new", headers={"HX-Request": "true", "HX-Boosted": "true"}
        )
    )
    assert "<html" in boosted


def test_create_with_errors_swaps_the_form_back_with_422(web_admin, seed):
    response = web_admin.post(
        "/campaigns/new", _form(seed, name="", timeZone="Mars/Olympus"), htmx=True
    )
    assert response.status_code == 422
    body = text(response)
    assert "<html" not in body
    assert "IANA" in body
    assert 'value="Mars/Olympus"' in body, "the submitted values come back"


def test_create_without_a_name_says_it_is_required(web_admin, seed):
    response = web_admin.post("/campaigns/new", _form(seed, name=""), htmx=True)
    assert response.status_code == 422
    assert "is required" in text(response)


def test_create_without_days_is_refused(web_admin, seed):
    data = [(k, v) for k, v in _form(seed) if k != "weekDays"]
    response = web_admin.post("/campaigns/new", data, htmx=True)
    assert response.status_code == 422
    assert "at least one day" in text(response)


def test_create_inline_returns_the_new_row_out_of_band(app, web_admin, seed):
    response = web_admin.post(
        "/campaigns/new", _form(seed, ciscoCampaignId="5001"), htmx=True
    )
    assert response.status_code == 200, text(response)
    body = text(response)
    assert 'hx-swap-oob="beforeend:#campaign-rows"' in body
    assert "Winter sale" in body and "Collections_Predictive" in body
    assert "created" in body
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import Campaign

        campaign = db.session.scalar(
            select(Campaign).where(Campaign.name == "Winter sale")
        )
        assert campaign.week_days == "1,2,3,4,5"
        assert campaign.time_zone == "Europe/London"
        assert campaign.dialer_type == "PREDICTIVE"
        assert campaign.cisco_campaign_id == "5001"
        assert campaign.respect_contact_time_zone is False


def test_create_without_javascript_redirects_to_the_campaign(web_admin, seed):
    response = web_admin.post("/campaigns/new", _form(seed))
    assert response.status_code == 302
    assert re.match(r"/campaigns/\d+$", response.headers["Location"])


def test_edit_keeps_type_and_clears_emptied_fields(app, web_admin, seed):
    cid = seed["campaign"]
    form = text(web_admin.get(f"/campaigns/{cid}/edit", htmx=True))
    assert 'name="type"' not in form, "the type is read-only after creation"
    data = _form(
        seed,
        name="Base campaign",
        description="",
        type="2",
        skillGroup="",
        respectContactTimeZone="1",
    )
    response = web_admin.post(f"/campaigns/{cid}/edit", data, htmx=True)
    assert response.status_code == 200, text(response)
    assert f'id="campaign-{cid}" hx-swap-oob="true"' in text(response)
    with app.app_context():
        from portal.extensions import db
        from portal.models import Campaign

        campaign = db.session.get(Campaign, cid)
        assert campaign.type == 0
        assert campaign.respect_contact_time_zone is True
        assert campaign.week_days == "1,2,3,4,5"


def test_pause_and_resume_swap_the_row(app, web_admin, seed):
    cid = seed["campaign"]
    response = web_admin.post(
        f"/campaigns/{cid}/status", {"status": "pause"}, htmx=True
    )
    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="campaign-{cid}"')
    assert "badge-paused" in body and ">Resume<" in body
    assert "paused" in body
    response = web_admin.post(
        f"/campaigns/{cid}/status", {"status": "resume"}, htmx=True
    )
    assert "badge-running" in text(response)
    with app.app_context():
        from portal.extensions import db
        from portal.models import Campaign

        assert db.session.get(Campaign, cid).status == 1


def test_state_badge_running_and_disabled(app, web_admin, seed):
    with app.app_context():
        from portal.services import campaigns

        admin = admin_user()
        campaigns.create_campaign(
            admin, {"name": "Off", "strategyId": seed["strategy"], "enabled": False}
        )
    body = text(web_admin.get("/campaigns"))
    assert "badge-disabled" in body and "badge-running" in body


def test_window_state_service():
    from datetime import datetime

    from portal.models import Campaign
    from portal.services.campaigns import window_state

    campaign = Campaign(
        enabled=True,
        status=1,
        start_time="22:00",
        end_time="02:00",
        week_days="1",
        time_zone="UTC",
    )
    monday_late = datetime(2024, 1, 1, 23, 0)  # a Monday
    tuesday_early = datetime(2024, 1, 2, 1, 0)
    tuesday_noon = datetime(2024, 1, 2, 12, 0)
    assert window_state(campaign, monday_late) == "running"
    assert window_state(campaign, tuesday_early) == "running"
    assert window_state(campaign, tuesday_noon) == "outside_window"
    campaign.status = 0
    assert window_state(campaign, monday_late) == "paused"
    campaign.enabled = False
    assert window_state(campaign, monday_late) == "disabled"


def test_delete_removes_the_campaign(app, web_admin, seed):
    cid = seed["campaign"]
    response = web_admin.post(f"/campaigns/{cid}/delete", htmx=True)
    assert response.status_code == 200
    assert "deleted" in text(response)
    assert web_admin.get(f"/campaigns/{cid}").status_code == 404


def test_unknown_campaign_is_a_404_page_or_notice(web_admin):
    page = web_admin.get("/campaigns/99999")
    assert page.status_code == 404 and "<html" in text(page)
    fragment = web_admin.post("/campaigns/99999/status", {"status": "pause"}, htmx=True)
    assert fragment.status_code == 404
    assert fragment.headers["HX-Retarget"] == "#messages"
    assert "<html" not in text(fragment)


def test_add_contact_fragment_errors_and_success(app, web_admin, seed):
    cid = seed["campaign"]
    bad = web_admin.post(
        f"/campaigns/{cid}/contacts",
        {"phone1": "abc", "dialTime": "yesterday"},
        htmx=True,
    )
    assert bad.status_code == 422
    assert "<html" not in text(bad) and "field-error" in text(bad)
    assert 'value="abc"' in text(bad)
    good = web_admin.post(
        f"/campaigns/{cid}/contacts",
        {
            "phone1": "+1 202 555 0101",
            "phone2": "",
            "businessParam3": "gold",
            "dialTime": "2030-01-01T09:30",
            "duplicateCallbacks": "deny",
        },
        htmx=True,
    )
    assert good.status_code == 200, text(good)
    assert good.headers["HX-Trigger"] == "contacts-changed"
    assert "added" in text(good)
    duplicate = web_admin.post(
        f"/campaigns/{cid}/contacts",
        {"phone1": "2025550101", "duplicateCallbacks": "deny"},
        htmx=True,
    )
    assert duplicate.status_code == 422
    assert "already has an open contact" in text(duplicate)
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import Contact

        contact = db.session.scalar(select(Contact))
        assert contact.business_param3 == "gold"
        assert contact.dial_time.year == 2030


def _insert_contacts(app, campaign_id: int, count: int) -> list[int]:
    from portal.services import contacts

    with app.app_context():
        admin = admin_user()
        return [
            contacts.insert_contact(
                admin, {"campaignId": campaign_id, "phone1": f"202555{n:04d}"}
            ).id
            for n in range(count)
        ]


def test_contacts_page_is_keyset_paged_without_counting(app, web_admin, seed):
    cid = seed["campaign"]
    ids = _insert_contacts(app, cid, 53)
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lower())

    with app.app_context():
        from portal.extensions import db

        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        first = text(web_admin.get(f"/campaigns/{cid}"))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert not [s for s in statements if "count(" in s and "contacts" in s]
    assert first.count('<tr id="contact-') == 50
    assert f"after={ids[49]}" in first and "Next page" in first
    second = text(web_admin.get(f"/campaigns/{cid}?after={ids[49]}"))
    assert second.count('<tr id="contact-') == 3
    assert "Next page" not in second and "First page" in second


def test_contacts_filter_by_number_state_and_result(app, web_admin, seed):
    cid = seed["campaign"]
    ids = _insert_contacts(app, cid, 3)
    with app.app_context():
        from portal.extensions import db
        from portal.models import Contact

        contact = db.session.get(Contact, ids[1])
        contact.request_state, contact.call_result = 2, 10
        db.session.commit()
    by_phone = text(web_admin.get(f"/campaigns/{cid}?phone=(202) 555-0002"))
    assert (
        by_phone.count('<tr id="contact-') == 1 and f'id="contact-{ids[2]}"' in by_phone
    )
    by_state = text(web_admin.get(f"/campaigns/{cid}?state=2"))
    assert (
        by_state.count('<tr id="contact-') == 1 and f'id="contact-{ids[1]}"' in by_state
    )
    by_result = text(web_admin.get(f"/campaigns/{cid}?result=10"))
    assert (
        f'id="contact-{ids[1]}"' in by_result
        and by_result.count('<tr id="contact-') == 1
    )
    refreshed = web_admin.get(f"/campaigns/{cid}/contacts?state=0", htmx=True)
    assert (
        "<html" not in text(refreshed)
        and text(refreshed).count('<tr id="contact-') == 2
    )
    bad = web_admin.get(f"/campaigns/{cid}?state=99")
    assert bad.status_code == 422


def test_contact_page_shows_history_with_result_names(app, web_admin, seed):
    cid = seed["campaign"]
    (contact_id,) = _insert_contacts(app, cid, 1)
    with app.app_context():
        from portal.extensions import db
        from portal.models import ContactAttempt

        db.session.add(
            ContactAttempt(
                contact_id=contact_id,
                campaign_id=cid,
                attempt_number=1,
                number="2025555000",
                channel=0,
                call_result=9,
                raw_code="BUSY",
            )
        )
        db.session.commit()
    body = text(web_admin.get(f"/contacts/{contact_id}"))
    assert "Attempt history" in body and "Busy" in body and "BUSY" in body
    assert "Cancel this contact" in body
    response = web_admin.post(f"/contacts/{contact_id}/cancel")
    assert response.status_code == 302
    assert "Cancelled" in text(web_admin.get(f"/contacts/{contact_id}"))
