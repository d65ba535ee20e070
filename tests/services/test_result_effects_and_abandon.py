"""Results that suppress, the abandoned-call lockout and the abandon-rate guard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditLog, Campaign, Contact, DncEntry, DncListEntry
from portal.services import (
    abandon,
    campaigns,
    dnc_lists,
    preferences,
    result_effects,
    stats,
)
from portal.services.dialers import DialResult
from portal.services.enums import BLOCKED_DNC, COMPLETED, PENDING
from portal.services.errors import Forbidden, ValidationFailed
from portal.services.feed import eligibility, run_tick
from tests.feed.support import T0, RecordingDialer, add_contacts, make_campaign
from tests.feed.support import make_strategy as strategy_with

SECOND = timedelta(seconds=1)


class NoSms:
    name = "sms"

    def send(self, number, text, contact_id):
        raise AssertionError("no SMS in these tests")

    def collect_results(self):
        return []


def tick(now, dialer):
    return run_tick(now, dialer=dialer, sms=NoSms())


def answer(dialer, code: int, contact_ids=None) -> None:
    """The dialer reports `code` for what it dialed last (or the given contacts)."""
    ids = contact_ids or [r.contact_id for r in dialer.batches[-1]]
    dialer.results.extend(DialResult(cid, code, str(code), None) for cid in ids)


def contact(cid: int) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, cid)


def test_wrong_number_rules_it_out_and_the_next_phone_is_dialed(admin):
    campaign = make_campaign(admin, strategy_with(admin, max_attempts=3), name="W")
    (cid,) = add_contacts(campaign, 1, phone2="+13125550102")
    dialer = RecordingDialer()
    tick(T0, dialer)
    first = dialer.dispatched[-1].number
    answer(dialer, 23)  # wrong number: no retry rule, but a second phone exists
    tick(T0 + SECOND, dialer)
    assert dialer.dispatched[-1].number == "+13125550102", "the next phone, at once"
    assert contact(cid).attempts_made == 2
    why = eligibility.contact_eligibility(contact(cid), T0 + 2 * SECOND)
    assert why.number_to_call == "+13125550102" and first != why.number_to_call
    answer(dialer, 23)
    tick(T0 + 2 * SECOND, dialer)
    done = contact(cid)
    assert (done.request_state, done.call_result) == (COMPLETED, 23), "none left"
    assert len(dialer.dispatched) == 2


def test_dialer_dnc_result_adds_the_number_to_the_default_list(admin):
    campaign = make_campaign(admin, strategy_with(admin), name="D")
    (cid, other) = add_contacts(campaign, 2, phone=lambda i: "+12125550123")
    dialer = RecordingDialer()
    tick(T0, dialer)
    answer(dialer, 26, [cid])
    tick(T0 + SECOND, dialer)
    entry = db.session.scalar(select(DncEntry))
    assert (entry.primary_number, entry.source) == ("+12125550123", "result:26")
    assert contact(cid).request_state == BLOCKED_DNC
    assert contact(other).request_state in (BLOCKED_DNC, 1)


def test_the_mapping_is_configurable(admin, viewer):
    listed = dnc_lists.create_list(admin, {"name": "Do not call me"})
    with pytest.raises(Forbidden):
        result_effects.set_mapping(viewer, {"callResult": 21, "effect": "close"})
    with pytest.raises(ValidationFailed) as err:
        result_effects.set_mapping(admin, {"callResult": 1, "effect": "close"})
    assert "callResult" in err.value.fields
    with pytest.raises(ValidationFailed):
        result_effects.set_mapping(
            admin, {"callResult": 21, "effect": "close", "listId": listed.id}
        )
    result_effects.set_mapping(
        admin, {"callResult": 21, "effect": "add_to_list", "listId": listed.id}
    )
    result_effects.set_mapping(admin, {"callResult": 23, "effect": "none"})
    rows = {r["callResult"]: r for r in result_effects.list_mappings(admin)}
    assert rows[21]["effect"] == "add_to_list" and not rows[21]["default"]
    assert rows[3]["effect"] == "skip_number" and rows[3]["default"]
    assert 23 not in result_effects.mappings()
    campaign = make_campaign(admin, strategy_with(admin), name="M")
    (cid,) = add_contacts(campaign, 1)
    dialer = RecordingDialer()
    tick(T0, dialer)
    answer(dialer, 21)
    tick(T0 + SECOND, dialer)
    assert db.session.scalar(select(DncListEntry.list_id)) == listed.id
    result_effects.reset_mapping(admin, 23)
    assert result_effects.mappings()[23].effect == "skip_number"


def test_close_effect_overrides_a_retry_rule(admin):
    retry = [{"call_result": 19, "attempt_number": 1, "delay": 0}]
    campaign = make_campaign(
        admin, strategy_with(admin, [{"retryMap": retry}]), name="Close"
    )
    (cid,) = add_contacts(campaign, 1)
    dialer = RecordingDialer()
    tick(T0, dialer)
    answer(dialer, 19)  # agent rejected and closed: the default closes the contact
    tick(T0 + SECOND, dialer)
    assert contact(cid).request_state == COMPLETED
    assert len(dialer.dispatched) == 1


def test_abandoned_number_is_locked_out_for_72_hours_on_every_campaign(admin):
    retry = [{"call_result": 16, "attempt_number": 1, "delay": 0}]
    strategy = strategy_with(admin, [{"retryMap": retry}], max_attempts=5)
    first = make_campaign(admin, strategy, name="First")
    second = make_campaign(admin, strategy, name="Second")
    (a,) = add_contacts(first, 1, phone=lambda i: "+12125550177")
    dialer = RecordingDialer()
    tick(T0, dialer)
    (b,) = add_contacts(second, 1, phone=lambda i: "+12125550177")
    answer(dialer, 16, [a])
    tick(T0 + SECOND, dialer)
    assert len(dialer.dispatched) == 1, "neither the retry nor the other campaign"
    until = T0 + SECOND + timedelta(hours=72)
    for cid in (a, b):
        held = contact(cid)
        assert (held.request_state, held.dial_time) == (PENDING, until)
    why = eligibility.as_dict(eligibility.contact_eligibility(contact(b), T0))
    lockout = next(r for r in why["reasons"] if r["code"] == "abandon_lockout")
    assert lockout["liftsAt"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    tick(until - SECOND, dialer)
    assert len(dialer.dispatched) == 1
    tick(until, dialer)
    assert len(dialer.dispatched) == 3, "both dialed once the lockout ends"


def simulate(campaign_id: int, dialer, codes: list[int], start) -> None:
    """Dial and answer contact after contact with the given results, a minute apart."""
    now = start
    for code in codes:
        before = len(dialer.dispatched)
        tick(now, dialer)
        if len(dialer.dispatched) == before:
            return  # the campaign stopped dialing
        answer(dialer, code)
        now += timedelta(minutes=1)
    tick(now, dialer)


def test_the_guard_pauses_a_campaign_that_crosses_its_maximum(admin, app):
    campaign = make_campaign(
        admin, strategy_with(admin), name="Guarded", maxAbandonRate=3
    )
    assert campaign.max_abandon_rate == 3.0
    add_contacts(campaign, 60)
    preferences.save_preferences(admin, {"campaignBatchSize": 1})
    dialer = RecordingDialer()
    codes = [10] * 40 + [16, 8, 10, 16]  # the 2nd abandon: 2 of 43 live = 4.65 %
    simulate(campaign.id, dialer, codes, T0)
    db.session.expire_all()
    paused = db.session.get(Campaign, campaign.id)
    assert paused.status == 0
    assert "abandon-rate guard" in paused.pause_reason
    assert "over 24h" in paused.pause_reason
    dials = len(dialer.dispatched)
    assert dials == len(codes), "stopped right after the rate crossed 3 %"
    later = T0 + timedelta(hours=1)
    tick(later, dialer)
    assert len(dialer.dispatched) == dials, "a paused campaign dials nothing"
    figures = stats.campaign_stats(admin, campaign.id, later)
    assert (figures["abandonRate24h"], figures["abandonRate30d"]) == (4.65, 4.65)
    assert figures["liveAnswers24h"] == 43 and figures["abandoned24h"] == 2
    contact_id = dialer.dispatched[-1].contact_id + 1
    reasons = eligibility.contact_eligibility(contact(contact_id), later).reasons
    assert {"campaign_paused", "abandon_rate"} <= {r.code for r in reasons}
    audit_row = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "pause", AuditLog.user_id.is_(None))
    )
    assert "abandon-rate guard" in audit_row.summary
    campaigns.set_status(admin, {"id": campaign.id, "status": "resume"})
    assert db.session.get(Campaign, campaign.id).pause_reason is None
    rates = abandon.rates([campaign.id], T0 + timedelta(days=31))[campaign.id]
    assert rates["30d"]["live"] == 0, "outside 30 days nothing counts"


def test_rates_and_limit_validation(admin):
    with pytest.raises(ValidationFailed) as err:
        make_campaign(admin, strategy_with(admin), name="Bad", maxAbandonRate=0)
    assert "maxAbandonRate" in err.value.fields
    with pytest.raises(ValidationFailed):
        make_campaign(admin, strategy_with(admin), name="Bad", maxAbandonRate="lots")
    assert (
        abandon.crossed(
            Campaign(max_abandon_rate=3.0),
            {
                "24h": {"rate": 3.0, "abandoned": 3, "live": 100},
                "30d": abandon._window(0, 0),
            },
        )
        is None
    ), "exactly at the maximum is allowed"
