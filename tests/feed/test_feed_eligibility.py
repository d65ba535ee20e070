"""Every reason a contact is not dialed, windows over midnight and DST, the summary."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from portal.extensions import db
from portal.models import Contact, DncEntry
from portal.services.feed import contact_eligibility, run_tick, summary
from portal.services.feed.windows import Window
from tests.feed.support import (
    T0,
    RecordingDialer,
    add_contacts,
    make_campaign,
    make_strategy,
)


def codes(contact, now):
    db.session.expire_all()
    return {
        r.code
        for r in contact_eligibility(db.session.get(Contact, contact), now).reasons
    }


def test_window_crossing_midnight_belongs_to_the_day_it_opened():
    friday_night = Window(time(22, 0), time(2, 0), frozenset({5}))  # Friday only
    assert friday_night.open_at(datetime(2026, 3, 6, 23, 0))  # Fri 23:00
    assert friday_night.open_at(
        datetime(2026, 3, 7, 1, 30)
    )  # Sat 01:30, Friday's window
    assert not friday_night.open_at(datetime(2026, 3, 7, 2, 0))  # end is exclusive
    assert not friday_night.open_at(datetime(2026, 3, 6, 1, 30))  # Thursday's night
    assert not friday_night.open_at(datetime(2026, 3, 7, 23, 0))  # Saturday
    all_day = Window(time(0, 0), time(0, 0), frozenset(range(7)))
    assert all_day.open_at(datetime(2026, 3, 7, 23, 59, 59))


def test_every_reason_is_listed(admin):
    strategy = make_strategy(admin, [{"phone": "3"}], max_attempts=2)
    campaign = make_campaign(
        admin,
        strategy,
        timeZone="America/New_York",
        startTime="09:00",
        endTime="17:00",
        weekDays="1,2,3,4,5",
        respectContactTimeZone=False,  # new campaigns respect it by default
    )
    (cid,) = add_contacts(campaign, 1)
    # Wed 15:00 UTC = 10:00 EST: open; phone3 is empty so phone1 is dialed
    answer = contact_eligibility(db.session.get(Contact, cid), T0)
    assert (
        answer.eligible and answer.number_to_call == db.session.get(Contact, cid).phone1
    )
    assert codes(cid, T0 + timedelta(hours=9)) == {"outside_window"}
    assert codes(cid, datetime(2026, 3, 7, 15, 0)) == {"not_calling_day"}  # Saturday
    contact = db.session.get(Contact, cid)
    contact.dial_time = T0 + timedelta(hours=1)
    contact.attempts_made = 2
    contact.expires_at = T0 - timedelta(minutes=1)
    db.session.add(DncEntry(primary_number=contact.phone1, match_key=contact.phone1))
    campaign.status = 0
    campaign.enabled = False
    db.session.commit()
    assert codes(cid, T0) == {
        "campaign_disabled",
        "campaign_paused",
        "not_due",
        "no_attempts_left",
        "retry_expired",
        "on_dnc",
    }
    contact.phone1 = ""
    contact.request_state = 2
    db.session.commit()
    assert {"no_dialable_number", "not_pending"} <= codes(cid, T0)


def test_contact_time_zone_across_the_dst_change(admin):
    strategy = make_strategy(admin)
    campaign = make_campaign(
        admin,
        strategy,
        name="TZ",
        timeZone="America/New_York",
        startTime="09:00",
        endTime="17:00",
        weekDays="0,1,2,3,4,5,6",
        respectContactTimeZone=True,
    )
    ids = add_contacts(
        campaign, 2, phone=lambda i: ["+12135550100", "+12125550100"][i % 2]
    )
    la = next(i for i in ids if db.session.get(Contact, i).phone1.startswith("+1213"))
    ny = next(i for i in ids if i != la)
    # Sat 7 March, 16:30 UTC: 11:30 EST, 08:30 PST -> LA still closed
    before = datetime(2026, 3, 7, 16, 30)
    assert (
        codes(la, before) == {"contact_outside_window"} and codes(ny, before) == set()
    )
    # Mon 9 March (after the change to daylight time), 16:30 UTC: 12:30 EDT, 09:30 PDT
    after = datetime(2026, 3, 9, 16, 30)
    assert codes(la, after) == set()
    for contact in (la, ny):
        db.session.get(Contact, contact).dial_time = before - timedelta(hours=1)
    db.session.commit()
    dialer = RecordingDialer()
    counts = run_tick(before, dialer=dialer)
    assert [r.contact_id for r in dialer.dispatched] == [ny]
    assert counts.skipped_time_zone == 1
    counts = run_tick(after, dialer=dialer)
    # ny had no result for two days: timed out, back to pending, dialed again with la
    assert counts.timed_out == 1
    assert sorted(r.contact_id for r in dialer.batches[-1]) == sorted([ny, la])


def test_expired_retries_close_and_the_summary_counts_reasons(admin):
    strategy = make_strategy(admin, max_attempts=1)
    campaign = make_campaign(admin, strategy, name="Sum")
    ids = add_contacts(campaign, 6)
    contacts = [db.session.get(Contact, i) for i in ids]
    contacts[0].dial_time = T0 + timedelta(days=1)
    contacts[1].expires_at = T0 + timedelta(minutes=5)
    contacts[2].attempts_made = 1
    db.session.commit()
    result = summary([campaign], T0)[campaign.id]
    assert result["pending"] == 6
    reasons = {r["code"]: r["count"] for r in result["reasons"]}
    assert reasons == {"not_due": 1, "no_attempts_left": 1}
    assert result["dialableNow"] == 4
    later = T0 + timedelta(minutes=10)
    assert codes(ids[1], later) >= {"retry_expired"}
    counts = run_tick(later, dialer=RecordingDialer())
    assert (counts.expired, counts.spent, counts.dispatched) == (1, 1, 3)
    db.session.expire_all()
    assert db.session.get(Contact, ids[1]).request_state == 4
    assert db.session.get(Contact, ids[2]).request_state == 3
    campaign.status = 0
    db.session.commit()
    paused = summary([campaign], later)[campaign.id]
    assert {r["code"] for r in paused["reasons"]} >= {"campaign_paused"}
    assert paused["dialableNow"] == 0
