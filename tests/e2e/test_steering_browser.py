"""The filter editor and the campaign report in Chromium (#14)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def steered(live_app) -> dict:
    """A paused campaign (the live feed leaves it alone): 5 contacts, 2 gold, with
    report counts on a Monday 10:00 and a Tuesday 14:00."""
    from datetime import datetime

    from sqlalchemy import select, update

    from portal.extensions import db
    from portal.models import Contact, User
    from portal.services import campaigns, contacts, reports, strategies

    with live_app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        strategy = strategies.create_strategy(
            admin, {"name": "Steer S", "maxAttempts": 3}
        )
        strategies.create_attempt(admin, {"csId": strategy.id, "name": "Call"})
        campaign = campaigns.create_campaign(
            admin,
            {
                "name": "Steered",
                "strategyId": strategy.id,
                "status": 0,
                "timeZone": "UTC",
            },
        )
        ids = [
            contacts.insert_contact(
                admin, {"campaignId": campaign.id, "phone1": f"+4420794600{n:02d}"}
            ).id
            for n in range(5)
        ]
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids[:2]))
            .values(business_param2="gold")
        )
        monday = datetime(2026, 11, 30, 10, 0)
        tuesday = monday + timedelta(days=1, hours=4)
        reports.count_attempts(
            [
                {
                    "contact_id": ids[0],
                    "campaign_id": campaign.id,
                    "attempt_number": number,
                    "call_result": code,
                    "result_at": at,
                }
                for at, number, code, times in (
                    (monday, 1, 10, 4),
                    (monday, 1, 8, 6),
                    (tuesday, 2, 9, 5),
                )
                for _ in range(times)
            ]
        )
        db.session.commit()
        return {"campaign": campaign.id}


def _settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has wired up what it swapped in."""
    expect(page.locator(".htmx-request, .htmx-added, .htmx-settling")).to_have_count(0)


def _choose_field(page: Page, n: int, field: str) -> None:
    """Pick a field and wait for the editor to come back with that field's operators."""
    _settled(page)
    page.get_by_label(f"Field of condition {n}").select_option(field)
    expect(page.locator("#filter-editor")).to_have_attribute(
        "data-fields", re.compile(rf"(^|,){field}$")
    )
    _settled(page)


def test_filter_editor_counts_live_and_saves(page: Page, steered):
    login(page)
    page.goto(f"/campaigns/{steered['campaign']}/targeting")
    count = page.locator("#filter-count")
    expect(count).to_contain_text("Keeps 5 of 5 pending contacts")
    page.get_by_role("button", name="Add condition").click()
    expect(page.locator(".filter-rule")).to_have_count(1)
    _choose_field(page, 1, "businessParam2")
    page.get_by_label("Value of condition 1").fill("gold")
    expect(count).to_contain_text("Keeps 2 of 5 pending contacts")
    _settled(page)
    page.get_by_role("button", name="Add condition").click()
    expect(page.locator(".filter-rule")).to_have_count(2)
    _choose_field(page, 2, "region")
    expect(page.get_by_label("Operator of condition 2")).to_have_value("in")
    page.get_by_label("Value of condition 2").fill("US")
    expect(count).to_contain_text("Keeps 0 of 5")
    _settled(page)
    page.get_by_label("Dial contacts that match").select_option("any")
    expect(count).to_contain_text("Keeps 2 of 5")
    _settled(page)
    _choose_field(page, 2, "zone")  # the London numbers ring in Europe/London
    expect(page.get_by_label("Value of condition 2")).to_have_attribute(
        "list", "phone-zones"
    )
    page.get_by_label("Value of condition 2").fill("America/Chicago")
    expect(count).to_contain_text("Keeps 2 of 5")
    _settled(page)
    page.get_by_label("Value of condition 2").fill("Europe/London")
    expect(count).to_contain_text("Keeps 5 of 5")
    _settled(page)
    page.get_by_role("button", name="Remove condition 2").click()
    expect(page.locator(".filter-rule")).to_have_count(1)
    page.get_by_label("Dial order").select_option("priority")
    screenshot(page, "steering-filter-editor")
    page.get_by_role("button", name="Save targeting").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{steered['campaign']}$"))
    panel = page.locator("#targeting")
    expect(panel).to_contain_text("businessParam2 eq gold")
    expect(panel).to_contain_text("Highest priority first")


def test_report_page_draws_charts_and_offers_csv(page: Page, steered):
    login(page)
    page.goto(f"/campaigns/{steered['campaign']}/report?from=2026-11-01&to=2026-12-31")
    expect(page.locator("[data-total=dials]")).to_have_text("15")
    expect(page.locator("[data-total=contactRate]")).to_have_text("26.7%")
    heat = page.locator("#heatmap")
    expect(heat).to_be_visible()
    expect(heat.locator('rect[data-day="Mon"][data-hour="10"]')).to_have_attribute(
        "data-dials", "10"
    )
    expect(page.locator("svg.chart .bar")).not_to_have_count(0)
    screenshot(page, "steering-report")
    with page.expect_download() as download:
        page.locator("#report-csv").click()
    assert download.value.suggested_filename.startswith(
        f"campaign-{steered['campaign']}-report-2026-11-01"
    )
    page.get_by_label("From").fill("2026-12-05")
    page.get_by_label("To").fill("2026-12-06")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report-empty")).to_be_visible()


@pytest.fixture(scope="session")
def closed_contacts(live_app) -> dict:
    """A paused campaign with four contacts closed at max attempts (no answer)."""
    from sqlalchemy import select, update

    from portal.extensions import db
    from portal.models import Contact, User
    from portal.services import campaigns, contacts, strategies

    with live_app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        strategy = strategies.create_strategy(
            admin, {"name": "Recycle S", "maxAttempts": 1}
        )
        strategies.create_attempt(admin, {"csId": strategy.id, "name": "Call"})
        campaign = campaigns.create_campaign(
            admin,
            {"name": "Recycled", "strategyId": strategy.id, "status": 0},
        )
        ids = [
            contacts.insert_contact(
                admin, {"campaignId": campaign.id, "phone1": f"+4420794601{n:02d}"}
            ).id
            for n in range(4)
        ]
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids))
            .values(request_state=3, call_result=8, attempts_made=1)
        )
        db.session.commit()
        return {"campaign": campaign.id, "ids": ids}


def test_recycle_a_selection_from_the_contact_list(page: Page, closed_contacts):
    login(page)
    page.goto(f"/campaigns/{closed_contacts['campaign']}")
    first, second, third, fourth = closed_contacts["ids"]
    count = page.locator("#selection-count")
    action = page.get_by_role("button", name="Recycle selected")
    expect(count).to_have_text("0 selected")
    expect(action).to_be_disabled()
    select_page = page.get_by_label("Select every contact on this page")
    select_page.check()
    expect(count).to_have_text("4 selected")
    select_page.uncheck()
    expect(count).to_have_text("0 selected")
    page.get_by_label(f"Select contact {first}", exact=True).check()
    page.get_by_label(f"Select contact {third}", exact=True).check()
    expect(count).to_have_text("2 selected")
    expect(select_page).to_have_js_property("indeterminate", True)
    expect(action).to_be_enabled()
    page.once("dialog", lambda dialog: dialog.accept())
    action.click()
    expect(page.locator("#messages")).to_contain_text("Reopened 2 contact(s).")
    for contact_id, state in (
        (first, "Pending"),
        (second, "Max attempts reached"),
        (third, "Pending"),
        (fourth, "Max attempts reached"),
    ):
        expect(page.locator(f"#contact-{contact_id}")).to_contain_text(state)
    expect(count).to_have_text("0 selected")  # the list came back fresh
    screenshot(page, "steering-recycle-selection")
