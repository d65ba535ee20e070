"""Every DNC list rule at upload and dial time: expiry, channel, campaign, formats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, DncEntry, Upload
from portal.services import dnc, dnc_lists, optouts, suppression, uploads
from portal.services.enums import BLOCKED_DNC, PENDING, RESULT_ON_DNC
from portal.services.errors import Forbidden, ValidationFailed
from portal.services.feed import eligibility, run_tick
from tests.feed.support import T0, RecordingDialer, add_contacts, make_campaign
from tests.feed.support import make_strategy as strategy_with

NUMBER = "+12125550101"
ISO = "%Y-%m-%dT%H:%M:%SZ"


class RecordingSms:
    name = "sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    def send(self, number: str, text: str, contact_id: int) -> None:
        self.sent.append((number, text, contact_id))

    def collect_results(self):
        return []


@pytest.fixture
def voice(admin):
    return make_campaign(admin, strategy_with(admin), name="Voice")


@pytest.fixture
def texts(admin):
    return make_campaign(
        admin, strategy_with(admin, [{"channel": 1}], name="SMS"), name="Texts", type=2
    )


def dialed(campaign, now, dialer=None, sms=None) -> list[str]:
    dialer = dialer or RecordingDialer()
    sms = sms or RecordingSms()
    run_tick(now, dialer=dialer, sms=sms)
    return [r.number for r in dialer.dispatched] + [n for n, _, _ in sms.sent]


def state_of(contact_id: int) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_default_list_entry_expires_at_its_boundary(admin, voice):
    until = T0 + timedelta(hours=1)
    entry = dnc.add_entry(
        admin,
        {"primaryNumber": NUMBER, "expiresAt": until.strftime(ISO), "reason": "hold"},
    )
    assert (entry.expires_at, entry.reason) == (until, "hold")
    key = suppression.match_key(NUMBER)
    second = timedelta(seconds=1)
    assert suppression.hits([key], voice.id, 0, until - second)[key].until == until
    assert suppression.hits([key], voice.id, 0, until) == {}, "expired at the moment"
    (cid,) = add_contacts(voice, 1, phone=lambda i: NUMBER)
    assert state_of(cid).request_state == PENDING, "a temporary entry closes nothing"
    assert dialed(voice, until - second) == []
    held = state_of(cid)
    assert (held.request_state, held.dial_time) == (PENDING, until), "held, not closed"
    assert dialed(voice, until) == [NUMBER], "dialed once the entry has expired"


def test_named_list_expiry_boundary_and_eligibility(admin, voice):
    holds = dnc_lists.create_list(admin, {"name": "Holds"})
    until = T0 + timedelta(minutes=30)
    dnc_lists.add_entry(
        admin, holds.id, {"primaryNumber": NUMBER, "expiresAt": until.isoformat()}
    )
    (cid,) = add_contacts(voice, 1, phone=lambda i: NUMBER)
    answer = eligibility.as_dict(
        eligibility.contact_eligibility(state_of(cid), T0 + timedelta(minutes=29))
    )
    reason = next(r for r in answer["reasons"] if r["code"] == "on_dnc")
    assert reason["liftsAt"] == until.strftime(ISO)
    assert "list Holds" in reason["message"]
    later = eligibility.contact_eligibility(state_of(cid), until)
    assert "on_dnc" not in [r.code for r in later.reasons]


def test_channel_scoping(admin, voice, texts):
    voice_only = dnc_lists.create_list(admin, {"name": "Voice", "channel": "voice"})
    sms_only = dnc_lists.create_list(admin, {"name": "SMS", "channel": "sms"})
    dnc_lists.add_entry(admin, voice_only.id, {"primaryNumber": "+12125550101"})
    dnc_lists.add_entry(admin, sms_only.id, {"primaryNumber": "+12125550102"})
    numbers = iter(["+12125550101", "+12125550102"])
    add_contacts(voice, 2, phone=lambda i: next(numbers))
    numbers = iter(["+12125550101", "+12125550102"])
    add_contacts(texts, 2, phone=lambda i: next(numbers))
    sent = dialed(voice, T0)
    assert sorted(sent) == ["+12125550101", "+12125550102"], "one of each kept"
    states = {
        (c.campaign_id, c.phone1): c.request_state
        for c in db.session.scalars(select(Contact))
    }
    assert states[(voice.id, "+12125550101")] == BLOCKED_DNC
    assert states[(voice.id, "+12125550102")] == 1, "an SMS-only entry lets voice dial"
    assert states[(texts.id, "+12125550101")] == 1, "a voice-only entry lets SMS send"
    assert states[(texts.id, "+12125550102")] == BLOCKED_DNC


def test_campaign_scoping(admin, voice):
    other = make_campaign(admin, voice.strategy, name="Other")
    own = dnc_lists.create_list(admin, {"name": "Other's", "campaignId": other.id})
    dnc_lists.add_entry(admin, own.id, {"primaryNumber": NUMBER})
    (mine,) = add_contacts(voice, 1, phone=lambda i: NUMBER)
    (theirs,) = add_contacts(other, 1, phone=lambda i: NUMBER)
    run_tick(T0, dialer=RecordingDialer(), sms=RecordingSms())
    assert state_of(mine).request_state == 1, "another campaign's list does not apply"
    assert (state_of(theirs).request_state, state_of(theirs).call_result) == (
        BLOCKED_DNC,
        RESULT_ON_DNC,
    )


@pytest.mark.parametrize(
    "listed", ["+1 (212) 555-0101", "212-555-0101", "12125550101", "+12125550101"]
)
def test_a_number_in_several_formats(admin, voice, listed):
    wrong = dnc_lists.create_list(admin, {"name": "Formats"})
    dnc_lists.add_entry(admin, wrong.id, {"primaryNumber": listed})
    key = suppression.match_key(NUMBER)
    for stored in ("2125550101", "12125550101", "+12125550101", "(212) 555 0101"):
        assert suppression.match_key(stored) == key
    (cid,) = add_contacts(
        voice, 1, phone=lambda i: "2125550101", phone2=None
    )  # stored without the country code
    db.session.get(Contact, cid).match_key = key
    db.session.commit()
    assert dialed(voice, T0) == []
    assert state_of(cid).request_state == BLOCKED_DNC


def test_phone2_on_a_list_is_caught_at_dial_time(admin):
    strategy = strategy_with(admin, [{"phone": "2"}])
    campaign = make_campaign(admin, strategy, name="Second phone")
    listed = dnc_lists.create_list(admin, {"name": "Any"})
    dnc_lists.add_entry(admin, listed.id, {"primaryNumber": "+13125550199"})
    (cid,) = add_contacts(campaign, 1, phone2="+13125550199")
    assert dialed(campaign, T0) == []
    assert state_of(cid).request_state == BLOCKED_DNC


def test_list_validation_and_roles(admin, viewer, voice):
    with pytest.raises(ValidationFailed) as err:
        dnc_lists.create_list(admin, {"name": "X", "channel": "fax"})
    assert "channel" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        dnc_lists.create_list(admin, {"name": "X", "campaignId": 999})
    assert err.value.fields == {"campaignId": "campaign 999 does not exist"}
    item = dnc_lists.create_list(admin, {"name": "X"})
    with pytest.raises(ValidationFailed):
        dnc_lists.create_list(admin, {"name": "x"})
    with pytest.raises(ValidationFailed) as err:
        dnc_lists.add_entry(
            admin, item.id, {"primaryNumber": NUMBER, "expiresAt": "next tuesday"}
        )
    assert "expiresAt" in err.value.fields
    dnc_lists.add_entry(admin, item.id, {"primaryNumber": NUMBER})
    with pytest.raises(ValidationFailed) as err:
        dnc_lists.add_entry(admin, item.id, {"primaryNumber": "(212) 555-0101"})
    assert err.value.fields == {"primaryNumber": "is already on this list"}
    with pytest.raises(Forbidden):
        dnc_lists.add_entry(viewer, item.id, {"primaryNumber": "+12125550102"})


def test_bulk_upload_search_and_audit(admin, tmp_path):
    item = dnc_lists.create_list(admin, {"name": "Bulk"})
    path = tmp_path / "list.csv"
    path.write_text(
        "number,name,expiresAt,reason,source\n"
        "+12125550101,Ann,,asked,phone\n"
        "212-555-0102,Bob\n"
        "+12125550103,Cy,2026-12-31T00:00:00Z,holiday,\n"
        "not a number,Dee\n"
        "+12125550101,Ann again,,asked twice,\n",
        encoding="utf-8",
    )
    with open(path, "rb") as handle:
        counts = dnc_lists.upload_entries(admin, item.id, handle)
    assert (counts["added"], counts["rejected"]) == (3, 1)
    assert counts["errors"][0]["line"] == 5
    found, total = dnc_lists.list_entries(admin, item.id, search="0101")
    assert total == 1 and found[0].name == "Ann again", "the last row of a number wins"
    found, _ = dnc_lists.list_entries(admin, item.id, search="cy")
    assert found[0].expires_at.year == 2026 and found[0].reason == "holiday"
    from portal.services import audit

    actions = [(a.action, a.entity) for a in audit.list_entries(admin)]
    assert ("upload", "dnc_list") in actions and ("create", "dnc_list") in actions


def test_upload_time_check_consults_every_applicable_list(admin, voice, tmp_path):
    other = make_campaign(admin, voice.strategy, name="Elsewhere")
    mine = dnc_lists.create_list(admin, {"name": "Mine", "campaignId": voice.id})
    theirs = dnc_lists.create_list(admin, {"name": "Theirs", "campaignId": other.id})
    texts_only = dnc_lists.create_list(admin, {"name": "Texts", "channel": "sms"})
    dnc_lists.add_entry(admin, mine.id, {"primaryNumber": "+12125550101"})
    dnc_lists.add_entry(admin, theirs.id, {"primaryNumber": "+12125550102"})
    dnc_lists.add_entry(admin, texts_only.id, {"primaryNumber": "+12125550103"})
    temporary = (T0 + timedelta(days=400)).strftime(ISO)
    dnc_lists.add_entry(
        admin, mine.id, {"primaryNumber": "+12125550104", "expiresAt": temporary}
    )
    optouts.record_opt_out(admin, {"number": "+12125550105", "channel": "voice"})
    dnc.add_entry(admin, {"primaryNumber": "+12125550106"})
    path = tmp_path / "contacts.csv"
    path.write_text("".join(f"+1212555010{i}\n" for i in range(1, 8)))
    with open(path, "rb") as handle:
        upload = uploads.store_upload(admin, "contacts", handle, "c.csv", voice.id)
    assert uploads.run_import(upload.id)["state"] == "done"
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).dnc_flagged == 3
    states = {c.phone1: c.request_state for c in db.session.scalars(select(Contact))}
    assert {n for n, s in states.items() if s == BLOCKED_DNC} == {
        "+12125550101",
        "+12125550105",
        "+12125550106",
    }, "own list, voice opt-out, default list; not another's, SMS-only or temporary"


def test_opt_out_suppresses_within_one_tick_and_reports_its_timing(admin):
    strategy = strategy_with(admin, [{"phone": "2"}])
    first = make_campaign(admin, strategy, name="First")
    second = make_campaign(admin, strategy, name="Second")
    (a,) = add_contacts(first, 1, phone2="+13125550199")
    (b,) = add_contacts(second, 1, phone=lambda i: "+13125550199")
    received = T0 - timedelta(hours=2)
    item = optouts.record_opt_out(
        admin,
        {
            "number": "(312) 555-0199",
            "channel": "both",
            "receivedAt": received.strftime(ISO),
            "source": "ivr",
        },
        now=T0,
    )
    assert item.contacts_closed == 1, "phone1 closed at once on every campaign"
    assert state_of(b).request_state == BLOCKED_DNC
    dialer = RecordingDialer()
    run_tick(T0 + timedelta(seconds=10), dialer=dialer, sms=RecordingSms())
    assert dialer.dispatched == [], "the next tick dials neither campaign's contact"
    assert state_of(a).request_state == BLOCKED_DNC, "phone2 caught at dial time"
    (row,) = optouts.report(admin, {"from": (T0 - timedelta(days=1)).isoformat()})
    assert row["receivedAt"] == received.strftime(ISO)
    assert row["effectiveAt"] == T0.strftime(ISO)
    assert (row["secondsToEffect"], row["withinDeadline"]) == (7200, True)
    assert row["deadline"] == "2026-03-18T13:00:00Z", "10 business days later"
    assert optouts.report(admin, {"to": received.isoformat()}) == []


def test_opt_out_rules(admin, viewer):
    with pytest.raises(ValidationFailed) as err:
        optouts.record_opt_out(admin, {"number": "abc"})
    assert "number" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        optouts.record_opt_out(
            admin, {"number": NUMBER, "receivedAt": "2999-01-01T00:00:00Z"}, now=T0
        )
    assert err.value.fields == {"receivedAt": "is in the future"}
    with pytest.raises(Forbidden):
        optouts.record_opt_out(viewer, {"number": NUMBER})
    assert optouts.business_days_between(T0, optouts.add_business_days(T0, 10)) == 10


def test_temporary_default_entry_does_not_close_and_permanent_one_does(admin, voice):
    (cid,) = add_contacts(voice, 1, phone=lambda i: NUMBER)
    entry = dnc.add_entry(
        admin, {"primaryNumber": NUMBER, "expiresAt": "2030-01-01T00:00:00+02:00"}
    )
    assert entry.expires_at.hour == 22, "an offset is stored as UTC"
    assert state_of(cid).request_state == PENDING
    dnc.update_entry(admin, {"id": entry.id, "expiresAt": None})
    assert state_of(cid).request_state == BLOCKED_DNC, "made permanent: closed now"
    assert db.session.scalar(select(DncEntry.expires_at)) is None
