"""Which contacts, in what order: filters, dialOrder, callbacks and recycling (#14)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AuditLog, Campaign, Contact, DncEntry
from portal.services import callbacks, campaigns, contact_filters, contacts, recycling
from portal.services.errors import ValidationFailed
from portal.services.feed import eligibility
from portal.services.feed.claim import claim_due_contacts
from portal.services.feed.plans import load_plan
from tests.feed.support import T0, add_contacts, make_campaign, make_strategy


def _claim(campaign_id: int, limit: int = 100, now=T0) -> list[int]:
    campaign = db.session.get(Campaign, campaign_id)
    plan = load_plan(campaign.strategy_id)
    return [
        c.contact_id for c in claim_due_contacts(campaign, plan, limit, now).claimed
    ]


def _set(ids, **values):
    db.session.execute(update(Contact).where(Contact.id.in_(ids)).values(**values))
    db.session.commit()


@pytest.fixture
def campaign(admin):
    return make_campaign(admin, make_strategy(admin, max_attempts=3))


GOLD = {
    "match": "all",
    "rules": [{"field": "businessParam2", "op": "eq", "value": "gold"}],
}


def test_filter_keeps_only_matching_contacts_in_the_claim(admin, campaign):
    ids = add_contacts(campaign, 6, dial_time=T0 - timedelta(hours=1))
    _set(ids[:2], business_param2="gold")
    _set(ids[2:4], business_param2="silver")
    campaigns.update_campaign(admin, {"id": campaign.id, "contactFilter": GOLD})
    assert sorted(_claim(campaign.id)) == ids[:2]
    answer = eligibility.contact_eligibility(db.session.get(Contact, ids[2]), T0)
    assert "excluded_by_filter" in [r.code for r in answer.reasons]
    summary = eligibility.summary([db.session.get(Campaign, campaign.id)], T0)
    counts = {r["code"]: r["count"] for r in summary[campaign.id]["reasons"]}
    assert counts["excluded_by_filter"] == 4


def test_filter_groups_regions_prefixes_uploads_and_dial_time(admin, campaign):
    uk = add_contacts(campaign, 2, phone=lambda i: f"+4420794600{i % 100:02d}")
    us = add_contacts(campaign, 2, phone=lambda i: f"+1212555{i % 10000:04d}")
    _set(uk[:1], upload_id=7, dial_time=T0 - timedelta(days=3))
    spec = {
        "match": "any",
        "rules": [
            {"field": "region", "op": "in", "value": ["GB"]},
            {
                "match": "all",
                "rules": [
                    {"field": "prefix", "op": "in", "value": ["+1212"]},
                    {"field": "businessParam1", "op": "contains", "value": "ACCT"},
                ],
            },
        ],
    }
    kept, total, _ = contact_filters.kept_counts(admin, campaign, spec)
    assert (kept, total) == (4, 4)
    only_upload = {"rules": [{"field": "uploadId", "op": "in", "value": [7]}]}
    assert contact_filters.kept_counts(admin, campaign, only_upload)[0] == 1
    early = {
        "rules": [
            {"field": "dialTime", "op": "before", "value": "2026-03-02 00:00:00"},
            {"field": "region", "op": "not_in", "value": ["US"]},
        ]
    }
    assert contact_filters.kept_counts(admin, campaign, early)[0] == 1
    assert us  # the US rows are the ones the not_in leaves out


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"rules": [{"field": "phone1", "op": "eq", "value": "x"}]}, "field"),
        ({"rules": [{"field": "region", "op": "eq", "value": "GB"}]}, "op"),
        ({"rules": [{"field": "region", "op": "in", "value": ["XX"]}]}, "region"),
        ({"rules": [{"field": "uploadId", "op": "in", "value": ["a"]}]}, "whole"),
        ({"rules": [{"field": "dialTime", "op": "between", "value": ["x"]}]}, "from"),
        ({"rules": [{"field": "businessParam1", "op": "eq", "value": "'; drop"}]}, ""),
        ({"match": "some", "rules": []}, "all"),
    ],
)
def test_filter_input_is_checked(admin, campaign, bad, where):
    if where == "":  # SQL-looking text is only ever a bound value
        campaigns.update_campaign(admin, {"id": campaign.id, "contactFilter": bad})
        assert _claim(campaign.id) == []
        return
    with pytest.raises(ValidationFailed) as err:
        campaigns.update_campaign(admin, {"id": campaign.id, "contactFilter": bad})
    assert any(k.startswith("contactFilter") for k in err.value.fields)
    assert where in " ".join(err.value.fields.values())


@pytest.mark.parametrize("order", ["due", "priority", "newest", "random"])
def test_every_dial_order_claims_in_its_order(admin, campaign, order):
    ids = add_contacts(campaign, 40, dial_time=T0 - timedelta(hours=2))
    for n, cid in enumerate(ids):
        _set([cid], priority=n % 4, dial_time=T0 - timedelta(minutes=100 - n))
    campaigns.update_campaign(admin, {"id": campaign.id, "dialOrder": order})
    rows = {
        c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids)))
    }
    expected = {
        "due": sorted(ids, key=lambda i: (rows[i].dial_time, i)),
        "priority": sorted(
            ids, key=lambda i: (-rows[i].priority, rows[i].dial_time, i)
        ),
        "newest": sorted(ids, reverse=True),
        "random": sorted(ids, key=lambda i: ((i * 2654435761) & 4294967295, i)),
    }[order]
    first = _claim(campaign.id, limit=10)
    assert first == expected[:10]
    assert _claim(campaign.id, limit=10) == expected[10:20]


def test_dial_order_is_validated(admin, campaign):
    with pytest.raises(ValidationFailed) as err:
        campaigns.update_campaign(admin, {"id": campaign.id, "dialOrder": "loudest"})
    assert "dialOrder" in err.value.fields


def test_contact_priority_from_single_insert(admin, campaign):
    made = contacts.insert_contact(
        admin, {"campaignId": campaign.id, "phone1": "+12125550100", "priority": 9}
    )
    assert made.priority == 9
    with pytest.raises(ValidationFailed):
        contacts.insert_contact(
            admin,
            {"campaignId": campaign.id, "phone1": "+12125550101", "priority": 10**9},
        )


def test_duplicate_scope_all_checks_every_campaign(admin, campaign):
    other = make_campaign(admin, campaign.strategy, name="Other")
    contacts.insert_contact(admin, {"campaignId": other.id, "phone1": "+12125550199"})
    deny = {"campaignId": campaign.id, "phone1": "+1 212 555 0199"}
    contacts.insert_contact(admin, {**deny, "duplicateCallbacks": "deny"})
    with pytest.raises(ValidationFailed) as err:
        contacts.insert_contact(
            admin,
            {
                **deny,
                "phone1": "+12125550199",
                "duplicateCallbacks": "deny",
                "duplicateScope": "all",
            },
        )
    assert "a campaign" in err.value.fields["phone1"]


def test_callback_is_claimed_first_and_bypasses_filter(admin, campaign):
    ids = add_contacts(campaign, 5, dial_time=T0 - timedelta(hours=3))
    campaigns.update_campaign(
        admin,
        {
            "id": campaign.id,
            "contactFilter": {
                "rules": [{"field": "businessParam2", "op": "eq", "value": "x"}]
            },
        },
    )
    later = T0 + timedelta(hours=1)
    callbacks.schedule_callback(
        admin, {"id": ids[4], "callbackTime": later.strftime("%Y-%m-%d %H:%M:%S")}, T0
    )
    assert _claim(campaign.id, now=T0) == []  # not due yet; the rest filtered out
    assert _claim(campaign.id, now=later) == [ids[4]]
    contact = db.session.get(Contact, ids[4])
    db.session.refresh(contact)
    assert contact.callback_at is None  # one dial, then the strategy decides


def test_dialer_callback_time_schedules_the_contact(admin, campaign, app):
    from portal.services.feed import results

    ids = add_contacts(campaign, 1, dial_time=T0 - timedelta(hours=1))
    assert _claim(campaign.id) == ids
    results.receive_result(
        admin,
        {"id": ids[0], "callResult": 14, "callbackTime": "2026-03-05T16:00:00Z"},
        T0,
    )
    results.apply_inbox(T0)
    contact = db.session.get(Contact, ids[0])
    db.session.refresh(contact)
    assert contact.request_state == 0
    assert contact.callback_at == contact.dial_time
    assert contact.dial_time.isoformat() == "2026-03-05T16:00:00"
    with pytest.raises(ValidationFailed):
        results.receive_result(
            admin, {"id": ids[0], "callResult": 14, "callbackTime": "soon"}, T0
        )


def test_recycling_rules_reopen_after_days_at_most_k_times(admin, campaign):
    ids = add_contacts(campaign, 4)
    _set(
        ids[:3],
        request_state=2,
        call_result=8,
        attempts_made=3,
        last_status_update_time=T0 - timedelta(days=8),
    )
    _set(
        ids[3:],
        request_state=2,
        call_result=10,
        last_status_update_time=T0 - timedelta(days=8),
    )
    db.session.add(
        DncEntry(primary_number=contact_key(ids[2]), match_key=contact_key(ids[2]))
    )
    db.session.commit()
    campaigns.update_campaign(
        admin,
        {
            "id": campaign.id,
            "recycleRules": [{"callResults": [8, 9], "afterDays": 7, "maxTimes": 1}],
        },
    )
    live = [db.session.get(Campaign, campaign.id)]
    assert recycling.recycle_due(live, T0) == 2
    states = dict(
        db.session.execute(
            select(Contact.id, Contact.request_state).where(Contact.id.in_(ids))
        ).all()
    )
    assert [states[i] for i in ids] == [0, 0, 5, 2]
    reopened = db.session.get(Contact, ids[0])
    assert (reopened.attempts_made, reopened.recycle_count) == (0, 1)
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "recycle")
    ).all()
    assert audit[-1].changes["reopened"] == 2
    _set(
        ids[:2],
        request_state=2,
        call_result=8,
        last_status_update_time=T0 - timedelta(days=8),
    )
    assert recycling.recycle_due(live, T0) == 0  # maxTimes reached


def contact_key(contact_id: int) -> str:
    return db.session.get(Contact, contact_id).match_key


def test_one_off_recycle_of_a_selection(admin, campaign):
    ids = add_contacts(campaign, 3)
    _set(ids[:2], request_state=3, call_result=9)
    out = recycling.recycle_selection(admin, campaign.id, {"ids": ids})
    assert out == {"reopened": 2, "blockedDnc": 0, "skipped": 1}
    with pytest.raises(ValidationFailed):
        recycling.recycle_selection(admin, campaign.id, {})


def test_the_feed_tick_runs_the_recycling_rules(admin, campaign):
    from portal.services.feed import run_tick
    from tests.feed.support import RecordingDialer

    ids = add_contacts(campaign, 2)
    _set(
        ids,
        request_state=2,
        call_result=9,
        attempts_made=1,
        last_status_update_time=T0 - timedelta(days=2),
    )
    campaigns.update_campaign(
        admin,
        {
            "id": campaign.id,
            "recycleRules": [{"callResults": [9], "afterDays": 1, "maxTimes": 1}],
        },
    )
    dialer = RecordingDialer()
    counts = run_tick(T0, dialer=dialer)
    assert counts.recycled == 2
    assert sorted(r.contact_id for r in dialer.dispatched) == ids
