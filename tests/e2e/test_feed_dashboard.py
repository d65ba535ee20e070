"""Start a campaign in the browser and watch the dashboard move (embedded worker)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def paused_campaign(live_app) -> dict:
    """A paused, always-open campaign of 40 due contacts on the simulator."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User, utcnow
    from tests.feed.support import add_contacts, make_campaign, make_strategy

    with live_app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        strategy = make_strategy(
            admin,
            [{"retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 0}]}],
            name="Dashboard strategy",
        )
        campaign = make_campaign(
            admin,
            strategy,
            name="Dashboard demo",
            status=0,
            startTime="00:00",
            endTime="00:00",
            weekDays="0,1,2,3,4,5,6",
        )
        ids = add_contacts(campaign, 40, dial_time=utcnow() - timedelta(minutes=5))
        return {"campaign": campaign.id, "contact": ids[0]}


def test_start_a_campaign_and_see_the_dashboard_move(page: Page, paused_campaign):
    login(page)
    page.goto("/")
    section = page.locator(f"#campaign-stats-{paused_campaign['campaign']}")
    expect(section).to_be_visible()
    expect(section.locator(".badge").first).to_have_text("Paused")
    expect(section.locator('tr[data-state="0"]')).to_contain_text("40")
    expect(section.locator('li[data-reason="campaign_paused"]')).to_be_visible()

    page.goto("/campaigns")
    row = page.locator("#campaign-rows tr", has_text="Dashboard demo")
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge")).to_have_text("Running")

    page.goto("/")
    section = page.locator(f"#campaign-stats-{paused_campaign['campaign']}")
    expect(section.locator(".badge").first).to_have_text("Running")
    # the live partial refreshes itself: dials and results appear without a reload
    expect(section.locator('tr[data-state="2"]')).to_be_visible(timeout=45_000)
    expect(section.locator("tr[data-result]").first).to_be_visible()
    expect(page.locator("#last-tick")).not_to_contain_text("never ran")
    expect(section.locator(".hour-chart rect.bar")).to_have_count(24)
    screenshot(page, "dashboard")

    page.goto(f"/contacts/{paused_campaign['contact']}")
    panel = page.locator(f"#eligibility-{paused_campaign['contact']}")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(re.compile("Eligible now|Not dialed now"))
    screenshot(page, "contact-eligibility")
