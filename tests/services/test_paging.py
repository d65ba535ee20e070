"""Paged list totals: exact on the last page, one cached COUNT for the pages before."""

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.services import contacts
from tests.feed.support import add_contacts, make_campaign, make_strategy


@pytest.fixture
def counted(ctx):
    """Count the COUNT(*) statements the session runs."""
    seen = []

    def listen(conn, cursor, statement, *args):
        if "count(" in statement.lower() and "from contacts" in statement.lower():
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(db.engine, "before_cursor_execute", listen)


def test_pages_share_one_count_and_the_last_page_needs_none(admin, counted):
    campaign = make_campaign(admin, make_strategy(admin))
    add_contacts(campaign, 25)
    totals = []
    for page in range(3):
        items, total = contacts.list_contacts(
            admin, {"campaignId": campaign.id, "size": 10, "page": page}
        )
        totals.append((len(items), total))
    assert totals == [(10, 25), (10, 25), (5, 25)]
    assert len(counted) == 1


def test_without_the_cache_every_full_page_counts_exactly(app, admin, counted):
    app.config["ECM_COUNT_CACHE_SECONDS"] = 0
    campaign = make_campaign(admin, make_strategy(admin))
    add_contacts(campaign, 20)
    contacts.list_contacts(admin, {"campaignId": campaign.id, "size": 10})
    add_contacts(campaign, 1)
    _, total = contacts.list_contacts(admin, {"campaignId": campaign.id, "size": 10})
    assert total == 21
    assert len(counted) == 2


def test_an_empty_page_past_the_end_still_reports_the_total(admin):
    campaign = make_campaign(admin, make_strategy(admin))
    add_contacts(campaign, 3)
    items, total = contacts.list_contacts(
        admin, {"campaignId": campaign.id, "size": 10, "page": 5}
    )
    assert (items, total) == ([], 3)
