"""The portal in a real browser: what a manager does, and what a Viewer cannot do."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


def _admin(app):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User

    return db.session.scalar(select(User).where(User.username == "admin"))


@pytest.fixture(scope="session")
def seeded(live_app) -> dict:
    """A strategy, an always-open campaign and one contact, made through services."""
    from portal.services import campaigns, contacts, strategies

    with live_app.app_context():
        admin = _admin(live_app)
        strategy = strategies.create_strategy(
            admin, {"name": "Seeded strategy", "maxAttempts": 3}
        )
        strategies.create_attempt(admin, {"csId": strategy.id, "name": "Call"})
        campaign = campaigns.create_campaign(
            admin,
            {
                "name": "Seeded campaign",
                "strategyId": strategy.id,
                "startTime": "00:00",
                "endTime": "00:00",
                "weekDays": "0,1,2,3,4,5,6",
                "timeZone": "UTC",
            },
        )
        contact = contacts.insert_contact(
            admin,
            {
                "campaignId": campaign.id,
                "phone1": "2025550111",
                "businessParam1": "VIP",
            },
        )
        return {"strategy": strategy.id, "campaign": campaign.id, "contact": contact.id}


def attempt_card(page: Page, name: str):
    return page.locator("article.attempt-card").filter(
        has=page.get_by_role("heading", name=re.compile(name))
    )


def test_login_shows_default_password_banner_and_logout(page: Page):
    page.goto("/campaigns")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    login(page)
    expect(page).to_have_url(re.compile(r"/campaigns$|/$"))
    expect(
        page.get_by_role("alert").filter(has_text="default password")
    ).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to ECM Portal")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/dnc")
    expect(page).to_have_url(re.compile(r"/login"))


def test_strategy_with_two_attempts_retry_rule_and_reorder(page: Page):
    login(page)
    page.goto("/strategies")
    page.locator("#new-strategy-name").fill("Two tries")
    page.get_by_role("button", name="Create strategy").click()
    expect(page.get_by_role("heading", name="Two tries", level=1)).to_be_visible()

    new = page.locator("#attempt-new")
    new.get_by_label("Name").fill("First call")
    new.get_by_role("button", name="Add attempt").click()
    expect(attempt_card(page, "First call")).to_be_visible()

    new = page.locator("#attempt-new")
    new.get_by_label("Name").fill("Second call")
    new.get_by_label("Number to dial").select_option("2")
    new.get_by_role("button", name="Add attempt").click()
    expect(attempt_card(page, "Second call")).to_be_visible()

    first = attempt_card(page, "First call")
    first.get_by_role("button", name="Add a retry rule").click()
    row = first.locator("tr.rule-row")
    expect(row).to_have_count(1)
    row.get_by_label("Call result").select_option("8")
    row.get_by_label("Next attempt").select_option("2")
    row.get_by_label("Delay in minutes").fill("30")
    first.get_by_role("button", name="Save attempt").click()
    expect(page.get_by_text("Attempt 1 saved.")).to_be_visible()
    saved = attempt_card(page, "First call").locator("tr.rule-row")
    expect(saved.get_by_label("Call result")).to_have_value("8")
    expect(saved.get_by_label("Delay in minutes")).to_have_value("30")

    # A bad rule comes back with its field error, swapped in place (422).
    first = attempt_card(page, "First call")
    first.locator("tr.rule-row").get_by_label("Delay in minutes").fill("-5")
    first.get_by_role("button", name="Save attempt").click()
    expect(
        attempt_card(page, "First call").locator(".field-error").first
    ).to_be_visible()
    page.reload()

    attempt_card(page, "Second call").get_by_role(
        "button", name="Move Second call up"
    ).click()
    expect(page.get_by_text("Order saved.")).to_be_visible()
    headings = page.locator("article.attempt-card:not(.attempt-new) h3")
    expect(headings.first).to_contain_text("Second call")
    expect(headings.nth(1)).to_contain_text("First call")
    page.reload()
    expect(
        page.locator("article.attempt-card:not(.attempt-new) h3").first
    ).to_contain_text("Second call")
    screenshot(page, "strategy-editor")


def test_campaign_create_pause_resume_and_contacts(page: Page, seeded):
    login(page)
    page.goto("/campaigns")
    page.get_by_role("link", name="New campaign").click()
    editor = page.locator("#campaign-editor")
    expect(editor.get_by_label("Name", exact=True)).to_be_visible()
    editor.get_by_label("Name", exact=True).fill("Spring renewals")
    editor.get_by_label("Call strategy").select_option(label="Seeded strategy")
    editor.get_by_label("Dialer campaign").select_option(index=1)
    editor.get_by_label("Dialer type").select_option("PROGRESSIVE")
    for day in ("Sat", "Sun"):
        editor.get_by_label(day, exact=True).check()
    editor.get_by_label("Window opens").fill("00:00")
    editor.get_by_label("Window closes").fill("00:00")
    editor.get_by_label("Time zone", exact=True).fill("Europe/London")
    screenshot(page, "campaign-form")
    editor.get_by_role("button", name="Create campaign").click()
    row = page.locator("#campaign-rows tr", has_text="Spring renewals")
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Running")
    expect(editor.locator("form")).to_have_count(0)

    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".badge")).to_have_text("Paused")
    expect(page.locator("#messages")).to_have_text(
        re.compile("Spring renewals” paused")
    )
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge")).to_have_text("Running")

    row.get_by_role("link", name="Edit").click()
    editor.get_by_label("Description").fill("Renewals due in spring")
    editor.get_by_role("button", name="Save campaign").click()
    expect(row).to_contain_text("Renewals due in spring")
    screenshot(page, "campaigns")

    row.get_by_role("link", name="Spring renewals").click()
    expect(
        page.get_by_role("heading", name=re.compile("Spring renewals"))
    ).to_be_visible()
    page.get_by_text("Add a single contact").click()
    form = page.locator("#contact-form")
    form.get_by_label("Phone 1").fill("not a number")
    form.get_by_role("button", name="Add contact").click()
    expect(page.locator("#contact-form .field-error")).to_be_visible()
    page.locator("#contact-form").get_by_label("Phone 1").fill("+1 (202) 555-0199")
    page.locator("#contact-form").get_by_label("Phone 2").fill("2025550198")
    page.locator("#contact-form").get_by_role("button", name="Add contact").click()
    expect(
        page.get_by_text(re.compile(r"Contact #\d+ \(\+12025550199\) added"))
    ).to_be_visible()
    table = page.locator("#contacts")
    expect(table.get_by_role("cell", name="+12025550199")).to_be_visible()
    page.locator("#contact-form").get_by_label("Phone 1").fill("2025550197")
    page.locator("#contact-form").get_by_role("button", name="Add contact").click()
    expect(
        page.locator("#contacts").get_by_role("cell", name="2025550197")
    ).to_be_visible()

    page.get_by_label("Phone number").fill("2025550197")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#contacts tbody tr")).to_have_count(1)
    screenshot(page, "campaign-page")
    page.locator("#contacts tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Attempt history")).to_be_visible()
    expect(page.get_by_text("2025550197").first).to_be_visible()
    screenshot(page, "contact")


def test_delete_campaign_asks_first(page: Page, live_app, seeded):
    from portal.services import campaigns

    with live_app.app_context():
        campaigns.create_campaign(
            _admin(live_app), {"name": "Short lived", "strategyId": seeded["strategy"]}
        )
    login(page)
    page.goto("/campaigns")
    row = page.locator("#campaign-rows tr", has_text="Short lived")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(
        page.get_by_text("Campaign “Short lived” deleted with its contacts.")
    ).to_be_visible()


def test_dnc_add_edit_search_delete(page: Page):
    login(page)
    page.goto("/dnc")
    page.get_by_label("Number", exact=True).fill("202-555-0143")
    page.get_by_label("Name (optional)").fill("Mr Quiet")
    page.get_by_role("button", name="Add to DNC list").click()
    row = page.locator("#dnc-rows tr", has_text="Mr Quiet")
    expect(row).to_be_visible()
    expect(page.get_by_text("is now on the DNC list")).to_be_visible()

    page.get_by_label("Number", exact=True).fill("2025550144")
    page.get_by_role("button", name="Add to DNC list").click()
    expect(page.locator("#dnc-rows tr", has_text="2025550144")).to_be_visible()
    page.get_by_label("Number", exact=True).fill("2025550144")
    page.get_by_role("button", name="Add to DNC list").click()
    expect(page.locator("#dnc-add .field-error")).to_have_text(
        "is already on the DNC list"
    )

    row.get_by_role("link", name="Edit").click()
    editing = page.locator("#dnc-rows tr.editing")
    editing.get_by_label("Name", exact=True).fill("Mrs Quiet")
    editing.get_by_role("button", name="Save").click()
    expect(page.locator("#dnc-rows tr", has_text="Mrs Quiet")).to_be_visible()
    expect(page.locator("#dnc-rows tr.editing")).to_have_count(0)

    page.get_by_label("Search by number or name").fill("Mrs Quiet")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#dnc-rows tr")
    expect(rows).to_have_count(1)
    screenshot(page, "dnc")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_role("button", name="Delete").click()
    expect(page.locator("#dnc-rows tr")).to_have_count(0)
    expect(page.get_by_text("removed from the DNC list")).to_be_visible()


def test_preferences_keep_the_password_unseen(page: Page):
    login(page)
    page.goto("/settings/preferences")
    page.get_by_label("Agent campaigns: contacts per tick").fill("25")
    page.get_by_label("User name").fill("dialer")
    page.get_by_label("Password", exact=True).fill("db-secret-1")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Preferences saved.")).to_be_visible()
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", "unchanged")
    page.get_by_label("Agent campaigns: contacts per tick").fill("0")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#preferences-form .field-error")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Agent campaigns: contacts per tick")).to_have_value("25")
    assert "db-secret-1" not in page.content()
    screenshot(page, "preferences")


def test_viewer_sees_no_write_buttons_and_forged_posts_are_refused(
    page: Page, live_app, seeded
):
    from portal.services import users

    with live_app.app_context():
        users.create_user(
            None,
            {"username": "watcher", "password": "watcher-pass-1", "role": "Viewer"},
            system=True,
        )
    login(page, "watcher", "watcher-pass-1")
    for path in (
        "/campaigns",
        f"/campaigns/{seeded['campaign']}",
        f"/contacts/{seeded['contact']}",
        "/strategies",
        f"/strategies/{seeded['strategy']}",
        "/dnc",
        "/settings/audit",
    ):
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        buttons = page.locator("main button, main input[type=submit]")
        expect(
            buttons.filter(
                has_text=re.compile(
                    "Pause|Resume|Delete|Edit|Save|Add|Create|Remove|Up|Down|Cancel"
                )
            )
        ).to_have_count(0)
        expect(
            page.locator("main a", has_text=re.compile("^(New campaign|Edit)$"))
        ).to_have_count(0)
    expect(page.get_by_role("link", name="Preferences")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    screenshot(page, "viewer-campaign")

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for url, form in (
        (f"/campaigns/{seeded['campaign']}/status", {"status": "pause"}),
        ("/dnc", {"primaryNumber": "2025550177"}),
        (f"/campaigns/{seeded['campaign']}/contacts", {"phone1": "2025550178"}),
        ("/settings/preferences", {"campaignBatchSize": "5"}),
    ):
        response = page.request.post(url, form={"csrf_token": token, **form})
        assert response.status == 403, (url, response.status)
    response = page.request.post(
        f"/campaigns/{seeded['campaign']}/status",
        form={"csrf_token": token, "status": "pause"},
        headers={"HX-Request": "true"},
    )
    assert response.status == 403
    assert "You do not have permission" in response.text()
    response = page.request.get("/settings/users")
    assert response.status == 403
    assert "Not allowed" in response.text()


def test_every_page_renders_without_browser_errors(page: Page, seeded):
    login(page)
    pages = {
        "home": "/",
        "campaign-list": "/campaigns",
        "campaign-seeded": f"/campaigns/{seeded['campaign']}",
        "campaign-new": "/campaigns/new",
        "campaign-edit": f"/campaigns/{seeded['campaign']}/edit",
        "contact-seeded": f"/contacts/{seeded['contact']}",
        "strategies": "/strategies",
        "strategy-seeded": f"/strategies/{seeded['strategy']}",
        "dnc-list": "/dnc",
        "preferences-page": "/settings/preferences",
        "users": "/settings/users",
        "audit": "/settings/audit",
        "api": "/settings/api",
        "account": "/account",
    }
    for name, path in pages.items():
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        expect(page.locator(".topbar")).to_be_visible()
        screenshot(page, f"page-{name}")
    page.set_viewport_size({"width": 820, "height": 1100})
    page.goto(f"/campaigns/{seeded['campaign']}")
    expect(page.locator("h1").first).to_be_visible()
    screenshot(page, "tablet-campaign-page")
    page.goto("/campaigns")
    screenshot(page, "tablet-campaigns")
