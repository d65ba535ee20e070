"""Calling rules (issue #12): caps across campaigns, gaps, restricted dates,
regional hours, unknown zones, campaign dates, nextEligibleAt, API and portal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact, DialLog
from portal.services import campaigns, preferences
from portal.services.calling_rules.nextdial import utc_of_local
from portal.services.errors import ValidationFailed
from portal.services.feed import contact_eligibility, run_tick, summary
from tests.feed.support import (
    RecordingDialer,
    add_contacts,
    make_campaign,
    make_strategy,
)

MON = datetime(2026, 3, 2, 15, 0)  # Monday 10:00 in New York, 07:00 in Los Angeles
MIAMI = "+13055550100"
NEW_YORK = "+12125550101"


@pytest.fixture(autouse=True)
def rules_on(app):
    app.config["ECM_CALLING_RULES"] = True


def _campaign(admin, name="R", **fields):
    strategy = make_strategy(
        admin,
        [{"retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 0}]}],
        max_attempts=10,
        name=f"S-{name}",
    )
    data = {"timeZone": "America/New_York", "startTime": "00:00", "endTime": "00:00"}
    return make_campaign(admin, strategy, name=name, **{**data, **fields})


def _codes(cid, now):
    answer = contact_eligibility(db.session.get(Contact, cid), now)
    return {r.code for r in answer.reasons}, answer


def _answer_all(dialer, code=8):
    from portal.services.dialers import DialResult

    dialer.results += [
        DialResult(r.contact_id, code, "x", None) for r in dialer.dispatched
    ]


def test_regional_cap_counts_dials_across_campaigns(admin):
    first, second = _campaign(admin, "A"), _campaign(admin, "B")
    add_contacts(first, 1, dial_time=MON, phone=lambda i: MIAMI)
    (cid,) = add_contacts(second, 1, dial_time=MON, phone=lambda i: MIAMI)
    dialer = RecordingDialer()
    now = MON
    dials = []
    for _ in range(8):  # each tick: dial, answer "no answer", retry due at once
        before = len(dialer.dispatched)
        run_tick(now, dialer=dialer)
        dials += [now] * (len(dialer.dispatched) - before)
        _answer_all(dialer)
        dialer.batches.clear()
        now += timedelta(minutes=30)
    # Florida: at most 3 dials of one number per 24 hours, whichever campaign dials
    assert len(dials) == 3
    assert db.session.scalar(select(func.count()).select_from(DialLog)) == 3
    codes, answer = _codes(cid, now)
    assert "frequency_cap" in codes
    reason = next(r for r in answer.reasons if r.code == "frequency_cap")
    assert "501.616" in reason.source and reason.lifts_at == dials[0] + timedelta(
        hours=24
    )
    assert answer.next_eligible_at == dials[0] + timedelta(hours=24)
    counts = summary([second], now)[second.id]
    assert any(
        r["code"] == "frequency_cap" and r["count"] == 1 for r in counts["reasons"]
    )


def test_min_gap_and_campaign_cap(admin):
    campaign = _campaign(admin, frequencyCap={"count": 2, "hours": 6}, minGapMinutes=45)
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: NEW_YORK)
    dialer = RecordingDialer()
    run_tick(MON, dialer=dialer)
    assert len(dialer.dispatched) == 1
    _answer_all(dialer)
    dialer.batches.clear()
    run_tick(MON + timedelta(minutes=10), dialer=dialer)
    assert dialer.dispatched == []
    codes, answer = _codes(cid, MON + timedelta(minutes=10))
    assert "min_gap" in codes
    assert answer.next_eligible_at == MON + timedelta(minutes=45)
    run_tick(MON + timedelta(minutes=45), dialer=dialer)
    assert len(dialer.dispatched) == 1
    _answer_all(dialer)
    dialer.batches.clear()
    run_tick(MON + timedelta(hours=2), dialer=dialer)
    assert dialer.dispatched == []  # 2 in 6 h
    codes, answer = _codes(cid, MON + timedelta(hours=2))
    assert "frequency_cap" in codes and answer.next_eligible_at == MON + timedelta(
        hours=6
    )


def test_restricted_dates_and_holiday_calendar(admin):
    campaign = _campaign(
        admin,
        holidayCalendars=["US"],
        restrictedDates=[
            {"name": "Stock take", "from": "2026-03-03", "to": "2026-03-04"}
        ],
    )
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: NEW_YORK)
    tuesday = MON + timedelta(days=1)
    codes, answer = _codes(cid, tuesday)
    assert "restricted_date" in codes
    # lifts at midnight New York time after the range: Thursday 00:00 EST = 05:00 UTC,
    # but regional hours (08:00-21:00) open at 08:00 EST = 13:00 UTC
    assert answer.next_eligible_at == datetime(2026, 3, 5, 13, 0)
    dialer = RecordingDialer()
    run_tick(tuesday, dialer=dialer)
    assert dialer.dispatched == []
    # Memorial Day 2026 (25 May) is a US holiday in the calendar
    codes, _ = _codes(cid, datetime(2026, 5, 25, 15, 0))
    assert "restricted_date" in codes
    preferences.save_preferences(
        admin, {"restrictedDates": ["2026-03-02"], "holidayCalendars": ["US-FL"]}
    )
    codes, _ = _codes(cid, MON)
    assert "restricted_date" in codes  # the system's dates apply to every campaign


def test_regional_hours_in_the_called_partys_zone(admin):
    campaign = _campaign(admin, respectContactTimeZone=False)
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: "+12135550102")
    codes, answer = _codes(cid, MON)  # 07:00 in Los Angeles
    assert "regional_hours" in codes
    reason = next(r for r in answer.reasons if r.code == "regional_hours")
    assert "64.1200" in reason.source
    assert answer.next_eligible_at == datetime(2026, 3, 2, 16, 0)  # 08:00 PST
    dialer = RecordingDialer()
    run_tick(MON, dialer=dialer)
    assert dialer.dispatched == []
    run_tick(datetime(2026, 3, 2, 16, 0), dialer=dialer)
    assert len(dialer.dispatched) == 1
    # Florida closes at 20:00: 20:30 EST is outside
    (fl,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: MIAMI)
    codes, answer = _codes(fl, datetime(2026, 3, 3, 1, 30))
    assert "regional_hours" in codes
    assert answer.next_eligible_at == datetime(2026, 3, 3, 13, 0)


def test_unknown_zone_uses_the_safe_window_only(admin):
    campaign = _campaign(admin)
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: "99912345")
    codes, answer = _codes(cid, MON)  # 10:00 New York: before 11:00
    assert "unknown_zone" in codes
    assert answer.next_eligible_at == datetime(2026, 3, 2, 16, 0)  # 11:00 EST


def test_campaign_dates(admin):
    campaign = _campaign(admin, startDate="2026-03-05", endDate="2026-03-06")
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: NEW_YORK)
    codes, answer = _codes(cid, MON)
    assert "campaign_not_started" in codes
    assert answer.next_eligible_at == datetime(2026, 3, 5, 13, 0)  # 08:00 EST, 5 Mar
    codes, answer = _codes(cid, datetime(2026, 3, 7, 15, 0))
    assert "campaign_ended" in codes
    assert answer.next_eligible_at is None and answer.never_because == "campaign_ended"
    dialer = RecordingDialer()
    run_tick(datetime(2026, 3, 7, 15, 0), dialer=dialer)
    assert dialer.dispatched == []
    assert campaigns.window_state(campaign, datetime(2026, 3, 7, 15, 0)) == (
        "campaign_ended"
    )
    info = summary([campaign], datetime(2026, 3, 7, 15, 0))[campaign.id]
    assert [r["code"] for r in info["campaignBlocked"]] == ["campaign_ended"]
    assert info["nextEligibleAt"] is None


def test_dst_spring_forward_gap_opens_at_the_transition():
    # 02:30 does not exist in New York on 8 March 2026: the clock jumps at 07:00 UTC
    assert utc_of_local(datetime(2026, 3, 8, 2, 30), "America/New_York") == datetime(
        2026, 3, 8, 7, 0
    )
    assert utc_of_local(datetime(2026, 3, 9, 8, 0), "America/New_York") == datetime(
        2026, 3, 9, 12, 0
    )


def test_validation_and_api_shapes(admin, api):
    strategy = make_strategy(admin, [{}], name="V")
    bad = {
        "name": "Bad",
        "strategyId": strategy.id,
        "startDate": "2026-13-01",
        "frequencyCap": {"count": 0, "hours": 24},
        "holidayCalendars": ["XX"],
        "restrictedDates": [{"from": "2026-03-04", "to": "2026-03-01"}],
        "minGapMinutes": -1,
    }
    with pytest.raises(ValidationFailed) as err:
        campaigns.create_campaign(admin, bad)
    fields = err.value.fields
    for name in ("startDate", "holidayCalendars", "restrictedDates", "minGapMinutes"):
        assert name in fields, fields
    assert any(k.startswith("frequencyCap") for k in fields)
    response = api.post(
        "/umm/ecm/campaign/createCampaign", {**bad, "frequencyCap": {"count": 3}}
    )
    assert response.status_code == 406 and response.json["error"] == "not_acceptable"
    good = {
        "name": "Good",
        "strategyId": strategy.id,
        "startDate": "2026-03-01",
        "endDate": "2026-03-31",
        "frequencyCap": {"count": 3, "hours": 24},
        "minGapMinutes": 60,
        "holidayCalendars": ["us-fl"],
        "restrictedDates": ["2026-03-17"],
    }
    response = api.post("/umm/ecm/campaign/createCampaign", good)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["frequencyCap"] == {"count": 3, "hours": 24}
    assert body["holidayCalendars"] == ["US-FL"]
    assert body["restrictedDates"] == [
        {"name": "Restricted date", "from": "2026-03-17", "to": "2026-03-17"}
    ]
    assert body["startDate"] == "2026-03-01" and body["respectContactTimeZone"] is True
    response = api.post(
        "/umm/ecm/preferenceSettings/save",
        {"frequencyCap": {"count": 5, "hours": 48}, "minGapMinutes": 30},
    )
    assert response.status_code in (200, 201), response.json
    assert response.json["frequencyCap"] == {"count": 5, "hours": 48}
    document = api.client.get("/umm/openapi.json").json
    text = str(document)
    for name in ("frequencyCap", "minGapMinutes", "holidayCalendars", "nextEligibleAt"):
        assert name in text


def test_a_refused_batch_is_not_a_dial_and_old_dials_are_pruned(admin):
    from portal.services.dialers import DialerUnavailable

    campaign = _campaign(admin, minGapMinutes=60)
    (cid,) = add_contacts(campaign, 1, dial_time=MON, phone=lambda i: NEW_YORK)
    db.session.add(
        DialLog(
            match_key="+15550000000",
            campaign_id=campaign.id,
            contact_id=0,
            dialed_at=MON - timedelta(days=40),
        )
    )
    db.session.commit()
    run_tick(MON, dialer=RecordingDialer(fail=DialerUnavailable("down")))
    assert db.session.get(Contact, cid).request_state == 0
    # the refused dial left no row, and the 40-day-old row was pruned
    assert db.session.scalar(select(func.count()).select_from(DialLog)) == 0
    dialer = RecordingDialer()
    run_tick(MON + timedelta(minutes=1), dialer=dialer)  # no gap: it was never dialed
    assert len(dialer.dispatched) == 1


def test_a_numbers_zones_do_not_depend_on_which_number_was_looked_up_first():
    """zones_of caches per table prefix only where every number under it shares its
    zones; it had kept the first number's answer for its whole prefix, so a mobile
    seen first gave later landlines its country's zones, or a landline gave mobiles
    one zone (an Australian mobile called at 08:00 in Sydney is 06:00 in Perth)."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    from portal.services.calling_rules import zones

    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(
                    phonenumbers.format_number(example, PhoneNumberFormat.E164)
                )

    def answers(order):
        zones._by_prefix.clear()
        zones._nanp_zones.cache_clear()
        zones._zones_of_number.cache_clear()
        return {n: zones.zones_of(n, n, "US") for n in order}

    assert answers(numbers) == answers(list(reversed(numbers)))
    mobile = "+61412345678"
    assert len(answers([mobile])[mobile]) > 1  # Australia's zones, not Sydney alone


def test_a_prefix_every_number_shares_is_answered_from_the_cache():
    """Germany rings in one zone whatever the number's type, so its prefix is
    cached; Australia's 612 is not (its mobiles get all of Australia's zones)."""
    from portal.services.calling_rules import zones

    zones._by_prefix.clear()
    assert zones.zones_of("+4930123456", "+4930123456", "US") == ("Europe/Berlin",)
    assert zones._by_prefix["49"] == ("Europe/Berlin",)
    zones.zones_of("+61298765432", "+61298765432", "US")
    assert zones._by_prefix["612"] is None
