"""A contact's own time zone and region (issue #12 item 3): accepted by the API, the
portal form and the CSV upload, checked with 406 field errors, and used by the
calling rules instead of the number's (regional hours, caps, restricted dates,
unknown zones), with the eligibility answer saying where each came from."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, DialLog
from portal.services import contacts
from portal.services.errors import ValidationFailed
from portal.services.feed import contact_eligibility, run_tick
from tests.feed.support import (
    RecordingDialer,
    add_contacts,
    make_campaign,
    make_strategy,
)

NEW_YORK = "+12125550101"
# Monday 2 March 2026, 13:30 UTC: 08:30 in New York, 05:30 in Los Angeles
EARLY = datetime(2026, 3, 2, 13, 30)
# Tuesday 3 March 2026, 01:30 UTC: Monday 20:30 in New York (US hours end at 21:00,
# Florida's at 20:00)
LATE = datetime(2026, 3, 3, 1, 30)


@pytest.fixture(autouse=True)
def rules_on(app):
    app.config["ECM_CALLING_RULES"] = True


@pytest.fixture
def campaign(admin):
    strategy = make_strategy(admin, [{}], max_attempts=3)
    return make_campaign(
        admin,
        strategy,
        name="Where",
        timeZone="America/New_York",
        startTime="00:00",
        endTime="00:00",
        weekDays="0,1,2,3,4,5,6",
        respectContactTimeZone=False,
    )


def _add(admin, campaign, **fields) -> int:
    body = {"campaignId": campaign.id, "phone1": NEW_YORK, "dialTime": None, **fields}
    made = contacts.insert_contact(admin, body)
    made.dial_time = datetime(2026, 3, 1)
    db.session.commit()
    return made.id


def _dialed(now) -> set[int]:
    dialer = RecordingDialer()
    run_tick(now, dialer=dialer)
    return {r.contact_id for r in dialer.dispatched}


def test_fields_are_checked_with_field_errors(admin, campaign):
    with pytest.raises(ValidationFailed) as err:
        contacts.insert_contact(
            admin,
            {
                "campaignId": campaign.id,
                "phone1": NEW_YORK,
                "timeZone": "Mars/Olympus",
                "region": "US-XX",
            },
        )
    assert set(err.value.fields) == {"timeZone", "region"}
    assert "IANA" in err.value.fields["timeZone"]
    assert "subdivision" in err.value.fields["region"]
    for bad in ("Florida", "ZZ", "us_fl"):
        with pytest.raises(ValidationFailed) as err:
            contacts.insert_contact(
                admin, {"campaignId": campaign.id, "phone1": NEW_YORK, "region": bad}
            )
        assert "region" in err.value.fields
    cid = _add(admin, campaign, timeZone="America/Chicago", region="us-fl")
    stored = db.session.get(Contact, cid)
    assert (stored.time_zone, stored.region) == ("America/Chicago", "US-FL")


def test_contact_zone_decides_the_regional_hours(admin, campaign):
    by_number = _add(admin, campaign)
    in_la = _add(admin, campaign, timeZone="America/Los_Angeles")
    answer = contact_eligibility(db.session.get(Contact, in_la), EARLY)
    assert answer.time_zones == ["America/Los_Angeles"]
    assert answer.located_by == {"timeZone": "contact", "region": "number"}
    codes = {r.code for r in answer.reasons}
    assert codes == {"regional_hours"}
    # 08:00 in Los Angeles is 16:00 UTC on that Monday
    assert answer.next_eligible_at == datetime(2026, 3, 2, 16, 0)
    plain = contact_eligibility(db.session.get(Contact, by_number), EARLY)
    assert plain.eligible and plain.located_by["timeZone"] == "number"
    assert _dialed(EARLY) == {by_number}
    assert in_la in _dialed(datetime(2026, 3, 2, 16, 0))  # (and the other, timed out)


def test_contact_region_brings_its_hours_and_cap(admin, campaign):
    by_number = _add(admin, campaign)
    in_florida = _add(admin, campaign, region="US-FL")
    answer = contact_eligibility(db.session.get(Contact, in_florida), LATE)
    assert answer.region == "US-FL" and answer.located_by["region"] == "contact"
    reason = next(r for r in answer.reasons if r.code == "regional_hours")
    assert reason.rule.startswith("Florida") and "501.616" in reason.source
    assert contact_eligibility(db.session.get(Contact, by_number), LATE).eligible
    assert _dialed(LATE) == {by_number}
    # the dial log counts the dial under the contact's region (Florida's cap)
    _dialed(datetime(2026, 3, 3, 14, 0))
    regions = dict(db.session.execute(select(DialLog.contact_id, DialLog.region)).all())
    assert regions == {by_number: "US", in_florida: "US-FL"}


def test_contact_zone_makes_an_unknown_number_known(admin, campaign):
    # a stored number whose zone cannot be known (as in test_calling_rules)
    unknown, known = add_contacts(
        campaign, 2, dial_time=datetime(2026, 3, 1), phone=lambda i: "99912345"
    )
    db.session.get(Contact, known).time_zone = "America/New_York"
    db.session.commit()
    answer = contact_eligibility(db.session.get(Contact, unknown), EARLY)
    assert {r.code for r in answer.reasons} == {"unknown_zone"}
    answer = contact_eligibility(db.session.get(Contact, known), EARLY)
    assert answer.eligible and answer.time_zones == ["America/New_York"]
    assert _dialed(EARLY) == {known}


def test_restricted_dates_follow_the_contact_zone(admin):
    strategy = make_strategy(admin, [{}], max_attempts=3, name="Dates")
    campaign = make_campaign(
        admin,
        strategy,
        name="Dates",
        timeZone="America/New_York",
        startTime="00:00",
        endTime="00:00",
        weekDays="0,1,2,3,4,5,6",
        restrictedDates=["2026-03-03"],
    )
    # 06:00 UTC on 3 March: 20:00 on 2 March in Honolulu, 01:00 on 3 March in New York
    now = datetime(2026, 3, 3, 6, 0)
    hawaii = _add(admin, campaign, timeZone="Pacific/Honolulu", region="US")
    codes = {
        r.code
        for r in contact_eligibility(db.session.get(Contact, hawaii), now).reasons
    }
    assert codes == set()
    new_york = _add(admin, campaign)
    codes = {
        r.code
        for r in contact_eligibility(db.session.get(Contact, new_york), now).reasons
    }
    assert "restricted_date" in codes
