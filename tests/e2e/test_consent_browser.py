"""The Consent page in a real browser: each form swaps its own section, no JS errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_list_opt_out_and_erasure_through_the_page(page: Page, base_url):
    login(page)
    page.goto(f"{base_url}/consent")
    lists = page.locator("#consent-lists")
    lists.get_by_label("New list").fill("Browser holds")
    lists.get_by_label("Channel").select_option("voice")
    lists.get_by_role("button", name="Create list").click()
    expect(lists.get_by_role("link", name="Browser holds")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("List Browser holds created.")
    lists.get_by_label("New list").fill("browser holds")
    lists.get_by_role("button", name="Create list").click()
    expect(page.locator("#consent-lists")).to_contain_text("already used")
    optouts = page.locator("#consent-optouts")
    optouts.get_by_label("Number", exact=True).fill("+1 202 555 0177")
    optouts.get_by_role("button", name="Record opt-out").click()
    expect(page.locator("#consent-optouts tbody")).to_contain_text("+12025550177")
    page.once("dialog", lambda dialog: dialog.accept())
    erase = page.locator("#consent-erase")
    erase.get_by_label("Number", exact=True).fill("2025550177")
    erase.get_by_role("button", name="Erase").click()
    expect(page.locator("#erase-result")).to_contain_text("optOuts 1")
    page.goto(f"{base_url}/consent")
    expect(page.locator("#consent-optouts tbody")).not_to_contain_text("2025550177")
    page.get_by_role("link", name="Browser holds").click()
    entries = page.locator("#consent-entries")
    entries.get_by_label("Number", exact=True).fill("(202) 555-0188")
    entries.get_by_role("button", name="Add number").click()
    expect(page.locator("#consent-entries tbody")).to_contain_text("2025550188")
