"""Bulk uploads in a browser: pick a CSV, watch the bar fill, get the rejected rows."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, screenshot
from tests.services.upload_files import make_campaign, write_contacts_csv

pytestmark = pytest.mark.e2e

BAR = "#uploads-{kind} .upload-status .upload-progress"
MIDWAY = """(selector) => {
  const bar = document.querySelector(selector + " progress");
  return bar !== null && bar.value > 0 && bar.value < 100;
}"""


@pytest.fixture
def small_chunks(live_app):
    """Commit (and so report progress) every 5,000 rows, so the bar moves in steps."""
    previous = live_app.config.get("ECM_IMPORT_CHUNK_ROWS")
    live_app.config["ECM_IMPORT_CHUNK_ROWS"] = 5_000
    yield
    live_app.config["ECM_IMPORT_CHUNK_ROWS"] = previous


def test_upload_contacts_watch_the_bar_and_download_rejected_rows(
    page: Page, live_app, tmp_path, small_chunks
):
    from portal.extensions import db
    from portal.models import User

    with live_app.app_context():
        admin = db.session.query(User).filter_by(username="admin").one()
        campaign_id = make_campaign(admin, name="Browser upload campaign").id
    info = write_contacts_csv(
        tmp_path / "customers.csv", 100_000, bad_every=25, header=True
    )

    login(page)
    page.goto(f"/campaigns/{campaign_id}")
    panel = page.locator("#uploads-contacts")
    expect(
        panel.get_by_role("heading", name="Upload contacts from a CSV file")
    ).to_be_visible()
    panel.get_by_label("CSV file").set_input_files(str(info.path))
    panel.get_by_label("Numbers that already have an open contact").select_option(
        "deny"
    )
    panel.get_by_role("button", name="Upload and import").click()

    progress = page.locator(BAR.format(kind="contacts"))
    expect(progress).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("customers.csv is uploaded")
    # the partial polls itself: the bar is seen part-way, then full
    page.wait_for_function(MIDWAY, arg=BAR.format(kind="contacts"), timeout=120_000)
    screenshot(page, "upload-running")
    expect(progress).to_have_attribute("data-state", "done", timeout=180_000)
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress.locator(".upload-pct")).to_have_text("100%")
    expect(progress.locator('[data-count="rowsRead"]')).to_have_text("100,000")
    expect(progress.locator('[data-count="accepted"]')).to_have_text(
        f"{info.accepted:,}"
    )
    expect(progress.locator('[data-count="rejected"]')).to_have_text(
        f"{info.rejected:,}"
    )
    screenshot(page, "upload-done")

    link = progress.get_by_role(
        "link", name=re.compile(r"Download the [\d,]+ rejected rows")
    )
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "rejected.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith("-rejected.csv")
    with open(saved, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rows] == sorted(info.bad_lines)
    assert all(r["reason"] for r in rows)

    # no polling is left running once done, and the recent-uploads list caught up
    expect(progress).not_to_have_attribute("hx-trigger", re.compile("every"))
    row = page.locator("#uploads-contacts-list table.upload-list tbody tr").first
    expect(row).to_contain_text("customers.csv")
    expect(row).to_contain_text("Done")
    page.reload()
    expect(page.locator("#uploads-contacts-list tbody tr").first).to_contain_text(
        "Done"
    )


def test_dnc_upload_from_the_dnc_page(page: Page, live_app, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text(
        "number;name\n(303) 555-0190;Opted out\n303.555.0191;\nnot a number;x\n"
    )
    login(page)
    page.goto("/dnc")
    panel = page.locator("#uploads-dnc")
    panel.get_by_label("CSV file").set_input_files(str(path))
    panel.get_by_role("button", name="Upload and import").click()
    progress = page.locator(BAR.format(kind="dnc"))
    expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
    expect(progress.locator('[data-count="accepted"]')).to_have_text("2")
    expect(progress.locator('[data-count="rejected"]')).to_have_text("1")
    # the same file again is refused with a clear reason in the panel
    panel.get_by_label("CSV file").set_input_files(str(path))
    panel.get_by_role("button", name="Upload and import").click()
    expect(panel.locator(".upload-status")).to_contain_text("already uploaded")
    screenshot(page, "dnc-upload-refused")
