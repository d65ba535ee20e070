"""Portal forms for the calling rules (issue #12): campaign and preferences."""

from __future__ import annotations

from tests.web.conftest import text
from tests.web.test_campaign_views import _form


def test_campaign_form_sets_and_clears_the_calling_rules(app, web_admin, seed):
    page = text(web_admin.get("/campaigns/new"))
    assert 'name="frequencyCapCount"' in page and 'name="restrictedDates"' in page
    form = _form(
        seed,
        name="Rules",
        startDate="2026-03-01",
        endDate="2026-03-31",
        frequencyCapCount="3",
        frequencyCapHours="24",
        minGapMinutes="60",
        holidayCalendars="US, us-fl",
        restrictedDates="2026-03-17 St Patrick\n2026-03-20..2026-03-22 Stock take",
    )
    response = web_admin.post("/campaigns/new", form)
    assert response.status_code == 302, text(response)
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import AuditLog, Campaign

        campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Rules"))
        assert (campaign.frequency_cap_count, campaign.frequency_cap_hours) == (3, 24)
        assert campaign.holiday_calendars == ["US", "US-FL"]
        assert campaign.restricted_dates[1] == {
            "name": "Stock take",
            "from": "2026-03-20",
            "to": "2026-03-22",
        }
        assert str(campaign.end_date) == "2026-03-31"
        cid = campaign.id
    edit = text(web_admin.get(f"/campaigns/{cid}/edit"))
    assert "2026-03-20..2026-03-22 Stock take" in edit
    bad = _form(seed, name="Rules", frequencyCapCount="0", frequencyCapHours="24")
    response = web_admin.post(f"/campaigns/{cid}/edit", bad, htmx=True)
    assert response.status_code == 422 and "frequencyCap" in text(response)
    cleared = _form(seed, name="Rules")
    response = web_admin.post(f"/campaigns/{cid}/edit", cleared)
    assert response.status_code == 302, text(response)
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        assert campaign.frequency_cap_count is None and campaign.end_date is None
        audited = db.session.scalars(
            select(AuditLog.changes).where(AuditLog.entity == "campaign")
        ).all()
        assert any(c and "frequency_cap_count" in c for c in audited)


def test_preferences_form_holds_the_system_policy(app, web_admin):
    page = text(web_admin.get("/settings/preferences"))
    assert 'name="minGapMinutes"' in page
    response = web_admin.post(
        "/settings/preferences",
        {
            "campaignBatchSize": "10",
            "ivrBatchSize": "10",
            "frequencyCapCount": "5",
            "frequencyCapHours": "48",
            "minGapMinutes": "30",
            "holidayCalendars": "CA-ON",
            "restrictedDates": "2026-12-24",
        },
        htmx=True,
    )
    assert response.status_code == 200, text(response)
    with app.app_context():
        from portal.services import preferences

        prefs = preferences.current()
        assert (prefs.frequency_cap_count, prefs.min_gap_minutes) == (5, 30)
        assert prefs.holiday_calendars == ["CA-ON"]
    response = web_admin.post(
        "/settings/preferences",
        {"campaignBatchSize": "10", "ivrBatchSize": "10", "holidayCalendars": "ZZ"},
        htmx=True,
    )
    assert response.status_code == 422 and "ZZ" in text(response)


def test_contact_page_shows_the_next_dial_and_the_rule(app, web_admin, seed):
    from datetime import datetime

    from portal.services.feed import eligibility
    from tests.feed.support import add_contacts

    app.config["ECM_CALLING_RULES"] = True
    with app.app_context():
        from portal.extensions import db
        from portal.models import Campaign

        campaign = db.session.get(Campaign, seed["campaign"])
        campaign.end_date = datetime(2020, 1, 1).date()
        db.session.commit()
        (cid,) = add_contacts(campaign, 1, phone=lambda i: "+13055550100")
        from portal.models import Contact

        answer = eligibility.as_dict(
            eligibility.contact_eligibility(db.session.get(Contact, cid))
        )
    assert answer["nextEligibleAt"] is None
    assert answer["neverEligibleBecause"] == "campaign_ended"
    page = text(web_admin.get(f"/contacts/{cid}"))
    assert "Will not be dialed while" in page and "campaign_ended" in page
    assert "endDate 2020-01-01" in page
    dashboard = text(web_admin.get("/"))
    assert 'data-reason="campaign_ended"' in dashboard and "Next dial" in dashboard


def test_contact_form_takes_the_contacts_zone_and_region(app, web_admin, seed):
    cid = seed["campaign"]
    bad = web_admin.post(
        f"/campaigns/{cid}/contacts",
        {"phone1": "+12125550177", "timeZone": "Mars/Olympus", "region": "US-XX"},
        htmx=True,
    )
    assert bad.status_code == 422
    assert "IANA time zone" in text(bad) and "not a subdivision" in text(bad)
    good = web_admin.post(
        f"/campaigns/{cid}/contacts",
        {"phone1": "+12125550177", "timeZone": "America/Chicago", "region": "us-tx"},
        htmx=True,
    )
    assert good.status_code == 200, text(good)
    with app.app_context():
        from sqlalchemy import select

        from portal.extensions import db
        from portal.models import Contact

        contact = db.session.scalar(select(Contact))
        assert (contact.time_zone, contact.region) == ("America/Chicago", "US-TX")
        contact_id = contact.id
    app.config["ECM_CALLING_RULES"] = True
    page = text(web_admin.get(f"/contacts/{contact_id}"))
    assert "America/Chicago (given)" in page and "US-TX (given)" in page
    assert "Rule region: US-TX (given for the contact)" in page
