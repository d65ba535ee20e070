"""A 1,000-contact campaign on the simulator runs to completion with a moving clock."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CallResultInbox, Contact, ContactAttempt, DncEntry
from portal.services import preferences, stats
from portal.services.feed import run_tick
from tests.feed.support import (
    T0,
    add_contacts,
    check_attempts_follow_cisco,
    make_campaign,
    make_strategy,
)

CLOSED = {2, 3, 4, 5, 6}


@pytest.mark.slow
def test_simulated_campaign_runs_to_completion(admin):
    strategy = make_strategy(
        admin,
        [
            {
                "retryMap": [
                    {"call_result": c, "attempt_number": 2, "delay": 5}
                    for c in (8, 9, 12)
                ]
            },
            {
                "phone": "2",
                "retryMap": [
                    {"call_result": 8, "attempt_number": 3, "delay": 10},
                    {"call_result": 9, "attempt_number": 2, "delay": 3},
                ],
            },
            {
                "channel": 1,
                "retryMap": [{"call_result": 101, "attempt_number": 3, "delay": 1}],
            },
        ],
        max_attempts=4,
    )
    campaign = make_campaign(
        admin, strategy, name="Sim", smsTemplate="Hi {businessParam1}"
    )
    ids = add_contacts(campaign, 1000, dial_time=T0)
    preferences.save_preferences(admin, {"campaignBatchSize": 200})
    blocked = ids[:20]
    for cid in blocked:
        number = db.session.get(Contact, cid).phone1
        db.session.add(DncEntry(primary_number=number, match_key=number))
    db.session.commit()

    now, ticks, totals = T0, 0, Counter()
    while ticks < 600:
        counts = run_tick(now)
        totals.update({k: v for k, v in counts.as_dict().items() if isinstance(v, int)})
        ticks += 1
        now += timedelta(minutes=1)
        open_left = db.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.request_state.in_((0, 1)))
        )
        if open_left == 0:
            break
    assert open_left == 0, f"{open_left} contacts still open after {ticks} ticks"

    states = Counter(
        dict(
            db.session.execute(
                select(Contact.request_state, func.count()).group_by(
                    Contact.request_state
                )
            ).all()
        )
    )
    assert set(states) <= CLOSED and sum(states.values()) == 1000
    assert states[5] == 20 == totals["dncBlocked"]
    dials = db.session.scalar(select(func.count()).select_from(ContactAttempt))
    check_attempts_follow_cisco(max_attempts=4)
    assert dials == totals["dispatched"] == totals["applied"]
    assert db.session.scalar(select(func.count()).select_from(CallResultInbox)) == 0
    per_contact = dict(
        db.session.execute(
            select(ContactAttempt.contact_id, func.count()).group_by(
                ContactAttempt.contact_id
            )
        ).all()
    )
    for contact in db.session.scalars(select(Contact)):
        # dials: the attempts plus at most maxAttempts not counted by Cisco (8)
        assert contact.attempts_made <= per_contact.get(contact.id, 0) <= 2 * 4
        assert contact.attempts_made <= 4
        if contact.request_state == 3:
            assert contact.attempts_made == 4
    sms_dials = db.session.scalar(
        select(func.count())
        .select_from(ContactAttempt)
        .where(ContactAttempt.channel == 1)
    )
    assert sms_dials > 0  # voice moved to SMS for some contacts

    (figures,) = stats.figures([campaign], now)
    assert figures["total"] == 1000
    assert sum(s["count"] for s in figures["states"]) == 1000
    assert (
        sum(r["count"] for r in figures["results"]) == 1000
    )  # every contact has a result
    assert figures["dialsLast24h"] == dials
    assert figures["eligibility"]["pending"] == 0
