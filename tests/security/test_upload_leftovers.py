"""Refused uploads leave no file behind (issue 17, finding 7).

Reproduced: a multipart body was written to ECM_UPLOAD_DIR before the role check and
was not removed when the request was refused (403, 406, 413) or the body was cut
short, so any signed-in Viewer could fill the disk one ECM_MAX_UPLOAD_MB at a time.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.conftest import login_token, make_user
from tests.security.builders import as_admin, csrf_token, new_campaign, portal_login

ROWS = b"".join(b"+1415555%04d,Name %d\n" % (i, i) for i in range(2000))


@pytest.fixture
def upload_app(app_factory, tmp_path):
    app = app_factory(ECM_UPLOAD_DIR=str(tmp_path / "uploads"), MAX_CONTENT_LENGTH=None)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
        make_user("Viewer", "vera", "vera-password-1")
        make_user("Supervisor", "sid", "sid-password-1")
    return app


def _files(app) -> set[str]:
    folder = Path(app.config["ECM_UPLOAD_DIR"])
    return set(os.listdir(folder)) if folder.is_dir() else set()


def _count_incoming(monkeypatch) -> list:
    """Every file part werkzeug asks the upload folder for (the real class runs)."""
    from portal.services.uploads import receive

    made: list = []
    real = receive.IncomingFile.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(receive.IncomingFile, "__init__", counted)
    return made


def _api_upload(app, user, password, data, **kw):
    token = login_token(app.test_client(), user, password)
    return app.test_client().post(
        "/umm/ecm/callback/uploadBulkCaller",
        data=data,
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
        **kw,
    )


def _campaign(app) -> int:
    return as_admin(app, lambda admin: new_campaign(admin).id)


@pytest.mark.parametrize(
    "path", ["/umm/ecm/callback/uploadBulkCaller", "/umm/ecm/contact/uploadCsv"]
)
def test_a_viewer_upload_is_refused_before_the_body_is_stored(
    upload_app, monkeypatch, path
):
    campaign_id = _campaign(upload_app)
    made = _count_incoming(monkeypatch)
    token = login_token(upload_app.test_client(), "vera", "vera-password-1")
    res = upload_app.test_client().post(
        path,
        data={"campaignId": str(campaign_id), "file": (io.BytesIO(ROWS), "a.csv")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 403
    assert made == []  # not one byte was written
    assert _files(upload_app) == set()


def test_a_viewer_upload_in_the_portal_is_refused_before_the_body_is_stored(
    upload_app, monkeypatch
):
    campaign_id = _campaign(upload_app)
    browser = upload_app.test_client()
    assert portal_login(browser, "vera", "vera-password-1").status_code in (302, 303)
    token = csrf_token(browser, "/campaigns")
    made = _count_incoming(monkeypatch)
    res = browser.post(
        "/uploads",
        data={
            "kind": "contacts",
            "campaignId": str(campaign_id),
            "file": (io.BytesIO(ROWS), "a.csv"),
        },
        headers={"X-CSRFToken": token, "HX-Request": "true"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 403
    assert made == []
    assert _files(upload_app) == set()


REFUSALS = {
    "unknown campaign": lambda cid: {
        "campaignId": "999999",
        "file": (io.BytesIO(ROWS), "a.csv"),
    },
    "no campaign": lambda cid: {"file": (io.BytesIO(ROWS), "a.csv")},
    "bad duplicate policy": lambda cid: {
        "campaignId": str(cid),
        "duplicateCallbacks": "maybe",
        "file": (io.BytesIO(ROWS), "a.csv"),
    },
    "binary file": lambda cid: {
        "campaignId": str(cid),
        "file": (io.BytesIO(b"PK\x03\x04\x00\x00" * 500), "a.xlsx"),
    },
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_upload_leaves_no_file(upload_app, case):
    campaign_id = _campaign(upload_app)
    res = _api_upload(upload_app, "sid", "sid-password-1", REFUSALS[case](campaign_id))
    assert res.status_code in (404, 406), res.get_data(as_text=True)
    assert _files(upload_app) == set()


def test_the_same_file_twice_leaves_only_the_first(upload_app):
    campaign_id = _campaign(upload_app)

    def data():
        return {"campaignId": str(campaign_id), "file": (io.BytesIO(ROWS), "a.csv")}

    assert _api_upload(upload_app, "sid", "sid-password-1", data()).status_code == 200
    kept = _files(upload_app)  # one file, or none where the bytes went to the database
    assert len(kept) <= 1
    again = _api_upload(upload_app, "sid", "sid-password-1", data())
    assert again.status_code == 406
    assert _files(upload_app) == kept


def test_an_upload_over_the_limit_without_a_length_leaves_no_file(
    app_factory, tmp_path
):
    app = app_factory(
        ECM_UPLOAD_DIR=str(tmp_path / "uploads"), MAX_CONTENT_LENGTH=16 * 1024
    )
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    campaign_id = _campaign(app)
    token = login_token(app.test_client(), "admin", "admin")
    boundary = "xyzBOUNDARY"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="campaignId"\r\n\r\n'
            f"{campaign_id}\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + ROWS * 2
        + f"\r\n--{boundary}--\r\n".encode()
    )
    res = app.test_client().post(
        "/umm/ecm/callback/uploadBulkCaller",
        input_stream=io.BytesIO(body),  # no Content-Length (a chunked body)
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert res.status_code == 413, res.get_data(as_text=True)
    assert _files(app) == set()


def test_a_truncated_upload_leaves_no_file(upload_app):
    campaign_id = _campaign(upload_app)
    token = login_token(upload_app.test_client(), "sid", "sid-password-1")
    boundary = "xyzBOUNDARY"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="campaignId"\r\n\r\n'
        f"{campaign_id}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + ROWS
    # the client promised more than it sent, then hung up
    res = upload_app.test_client().post(
        "/umm/ecm/callback/uploadBulkCaller",
        input_stream=io.BytesIO(head),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + 50_000),
        },
    )
    assert res.status_code in (400, 406, 413), res.status_code
    assert res.status_code < 500
    assert _files(upload_app) == set()
