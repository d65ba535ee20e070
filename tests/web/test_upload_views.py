"""The portal's upload panel, progress partial and rejected-rows download."""

from __future__ import annotations

import io
import re

from tests.api.test_uploads import work_queue
from tests.web.conftest import text


def upload(
    browser, data: bytes, htmx: bool = True, header_token: bool = True, **fields
):
    form = {k: str(v) for k, v in fields.items()}
    form["file"] = (io.BytesIO(data), fields.pop("filename", "contacts.csv"))
    headers = {"HX-Request": "true"} if htmx else {}
    if header_token:
        headers["X-CSRFToken"] = browser.token
    else:
        form["csrf_token"] = browser.token
    return browser.client.post(
        "/uploads", data=form, headers=headers, content_type="multipart/form-data"
    )


def test_campaign_and_dnc_pages_include_the_panel(web_admin, seed):
    page = text(web_admin.get(f"/campaigns/{seed['campaign']}"))
    assert 'id="uploads-contacts"' in page
    assert 'hx-encoding="multipart/form-data"' in page
    assert f'name="campaignId" value="{seed["campaign"]}"' in page
    assert 'name="duplicateCallbacks"' in page and "No uploads yet." in page
    assert 'name="csrf_token"' in page
    dnc_page = text(web_admin.get("/dnc"))
    assert 'id="uploads-dnc"' in dnc_page and 'name="kind" value="dnc"' in dnc_page
    assert "style=" not in page + dnc_page


def test_viewer_sees_the_list_but_no_form(web_viewer, seed):
    page = text(web_viewer.get(f"/campaigns/{seed['campaign']}"))
    assert 'id="uploads-contacts"' in page and "upload-form" not in page


def test_upload_polls_while_running_then_shows_the_summary(web_admin, app, seed):
    data = b"2025550101,,,,,Ann\n2025550102\nnot-a-number\n"
    response = upload(web_admin, data, kind="contacts", campaignId=seed["campaign"])
    assert response.status_code == 200, text(response)
    body = text(response)
    upload_id = int(re.search(r'id="upload-(\d+)"', body).group(1))
    assert 'hx-trigger="every 1s"' in body and 'data-state="queued"' in body
    assert '<progress max="100" value="0"' in body
    assert "is uploaded; the import has started." in body  # the notice, out of band
    assert 'id="uploads-contacts-list" hx-swap-oob="true"' in body
    assert f'id="upload-row-{upload_id}"' in body  # the list shows it at once
    assert f"/uploads/{upload_id}?panel=1" in body
    work_queue(app)
    poll = web_admin.get(f"/uploads/{upload_id}?panel=1", htmx=True)
    partial = text(poll)
    assert 'id="uploads-contacts-list" hx-swap-oob="true"' in partial
    assert poll.status_code == 200 and not partial.lstrip().startswith("<!doctype")
    assert 'data-state="done"' in partial and "every 1s" not in partial
    assert '<progress max="100" value="100"' in partial
    assert (
        'data-count="accepted">2<' in partial and 'data-count="rejected">1<' in partial
    )
    assert f'href="/uploads/{upload_id}/errors.csv"' in partial
    report = web_admin.get(f"/uploads/{upload_id}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert text(report).splitlines() == [
        "line,reason,row",
        "3,phone1: has letters,not-a-number",
    ]
    page = text(web_admin.get(f"/uploads/{upload_id}"))
    assert page.lstrip().lower().startswith("<!doctype html>") and "Upload #" in page
    listing = text(web_admin.get(f"/campaigns/{seed['campaign']}"))
    assert f'id="upload-row-{upload_id}"' in listing
    assert f'id="upload-row-{upload_id}"' in text(web_admin.get("/uploads"))


def test_refused_upload_swaps_the_reason_with_422(web_admin, seed):
    empty = upload(web_admin, b"", kind="contacts", campaignId=seed["campaign"])
    assert empty.status_code == 422
    assert "is empty" in text(empty) and "form-errors" in text(empty)
    first = upload(web_admin, b"2025550101\n", kind="dnc")
    assert first.status_code == 200
    again = upload(web_admin, b"2025550101\n", kind="dnc")
    assert again.status_code == 422 and "force=true" in text(again)
    forced = upload(web_admin, b"2025550101\n", kind="dnc", force="true")
    assert forced.status_code == 200


def test_plain_form_post_redirects_to_the_upload_page(web_admin, seed):
    response = upload(
        web_admin,
        b"2025550101\n",
        htmx=False,
        header_token=False,
        kind="contacts",
        campaignId=seed["campaign"],
    )
    assert response.status_code == 302
    assert re.search(r"/uploads/\d+$", response.headers["Location"])


def test_upload_without_a_valid_csrf_token_is_refused(web_admin, app, seed):
    from pathlib import Path

    folder = Path(app.config["ECM_UPLOAD_DIR"])
    before = set(folder.glob("*")) if folder.exists() else set()
    web_admin.token = "forged"
    for header_token in (True, False):
        response = upload(
            web_admin,
            b"2025550101\n",
            header_token=header_token,
            kind="contacts",
            campaignId=seed["campaign"],
        )
        assert response.status_code == 400
    after = set(folder.glob("*")) if folder.exists() else set()
    assert after == before


def test_viewer_cannot_upload(web_viewer, seed):
    response = upload(
        web_viewer, b"2025550101\n", kind="contacts", campaignId=seed["campaign"]
    )
    assert response.status_code == 403


def test_stale_upload_offers_resume(web_admin, app, seed):
    response = upload(
        web_admin, b"2025550101\n", kind="contacts", campaignId=seed["campaign"]
    )
    upload_id = int(re.search(r'id="upload-(\d+)"', text(response)).group(1))
    with app.app_context():
        from rq.job import Job

        from portal import queue as q

        Job.fetch(f"import-{upload_id}", connection=q.connection()).delete()
        from datetime import timedelta

        from portal.extensions import db
        from portal.models import Upload

        row = db.session.get(Upload, upload_id)
        row.created_at -= timedelta(minutes=5)  # older than a job takes to be queued
        db.session.commit()
    partial = text(web_admin.get(f"/uploads/{upload_id}", htmx=True))
    assert (
        "No worker is importing this upload" in partial
        and "Resume the import" in partial
    )
    resumed = web_admin.post(f"/uploads/{upload_id}/resume", htmx=True)
    assert resumed.status_code == 200 and "queued again" in text(resumed)
    work_queue(app)
    done = text(web_admin.get(f"/uploads/{upload_id}", htmx=True))
    assert 'data-state="done"' in done
    again = web_admin.post(f"/uploads/{upload_id}/resume", htmx=True)
    assert again.status_code == 422 or "already complete" in text(again)
