"""The claim reads every dialOrder in index order, without sorting the campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.models import Campaign
from portal.services import campaigns
from portal.services.feed.claim import claim_due_contacts
from portal.services.feed.plans import load_plan
from tests.feed.claim_plans import captured_selects, explain
from tests.feed.support import T0, make_campaign, make_strategy

CONTACTS = 20_000
INDEX_OF = {
    "due": "ix_contacts_due",
    "priority": "ix_contacts_priority",
    "newest": "ix_contacts_newest",
    "random": "ix_contacts_shuffle",
}


def _load(campaign: Campaign) -> None:
    """Many pending contacts of one campaign, made by the database itself."""
    first = campaign.strategy.attempts[0].id
    if db.session.get_bind().dialect.name == "postgresql":
        series = "generate_series(1, :n) AS g(i)"
        number = "'+1212' || lpad(i::text, 7, '0')"
        due = "CAST(:t0 AS timestamp) - (i % 600) * interval '1 minute'"
    else:
        series = (
            "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
            "WHERE i < :n) SELECT i FROM s)"
        )
        number = "'+1212' || printf('%07d', i)"
        due = "datetime(:t0, '-' || (i % 600) || ' minutes')"
    db.session.execute(
        text(
            "INSERT INTO contacts (campaign_id, phone1, match_key, dial_time, "
            "request_state, call_result, attempt_id, attempt_number, attempts_made, "
            "channel, date_created, priority, recycle_count, business_param2) "
            f"SELECT :c, {number}, {number}, {due}, 0, 0, :a, 1, 0, 0, :t0, i % 10, 0, "
            "CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END FROM " + series
        ),
        {"c": campaign.id, "a": first, "n": CONTACTS, "t0": T0},
    )
    db.session.commit()
    db.session.execute(text("ANALYZE contacts"))
    db.session.commit()


@pytest.fixture
def big(admin):
    campaign = make_campaign(admin, make_strategy(admin))
    _load(campaign)
    return campaign


FILTERS = {
    "none": None,
    "gold": {"rules": [{"field": "businessParam2", "op": "eq", "value": "gold"}]},
    # +1212 rings in New York: 2,390 prefixes as IN lists, still no sort
    "zone": {"rules": [{"field": "zone", "op": "in", "value": ["America/New_York"]}]},
}


@pytest.mark.parametrize("order", list(INDEX_OF))
@pytest.mark.parametrize("filtered", list(FILTERS))
def test_claim_plan_uses_the_order_index(admin, big, order, filtered):
    data = {"id": big.id, "dialOrder": order}
    if FILTERS[filtered]:
        data["contactFilter"] = FILTERS[filtered]
    campaigns.update_campaign(admin, data)
    campaign = db.session.get(Campaign, big.id)
    with captured_selects() as seen:
        claim = claim_due_contacts(
            campaign, load_plan(campaign.strategy_id), 100, T0 + timedelta(hours=1)
        )
    assert len(claim.claimed) == 100
    ordered = [s for s in seen if "callback_at IS NULL" in s[0]]
    callbacks = [s for s in seen if "callback_at IS NOT NULL" in s[0]]
    assert ordered and callbacks
    plan = explain(*ordered[0])
    db.session.rollback()
    # with one campaign in the table, the primary key serves "newest" just as well
    also = ("contacts_pkey",) if order == "newest" else ()
    assert any(name in plan for name in (INDEX_OF[order], *also)), plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    assert "ix_contacts_callback" in explain(*callbacks[0])
    db.session.rollback()
