"""Upload endpoints over the wire: multipart in, job queued, status and report out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from rq.job import Job

from portal import queue as q
from portal.services import uploads
from tests.services.upload_files import make_campaign, write_contacts_csv
from worker.workers import run_queued_jobs

BULK = "/umm/ecm/callback/uploadBulkCaller"
DNC = "/umm/ecm/contact/uploadCsv"


@pytest.fixture
def campaign_id(app):
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        admin = db.session.query(User).filter_by(username="admin").one()
        return make_campaign(admin, name="API uploads").id


def post_file(api, path, data: bytes, filename="contacts.csv", **fields):
    form = {k: str(v) for k, v in fields.items()}
    form["file"] = (io.BytesIO(data), filename)
    return api.post(path, data=form, content_type="multipart/form-data")


def work_queue(app) -> None:
    """Run every queued job here, as `flask worker --burst` would."""
    run_queued_jobs(app)


def upload_files(app) -> set[str]:
    """Every stored upload file: in the database store and in the disk store."""
    from portal.extensions import db
    from portal.models import UploadFile

    with app.app_context():
        rows = {f"db:{i}" for i in db.session.scalars(db.select(UploadFile.id))}
        db.session.remove()
    return rows | {str(p) for p in Path(app.config["ECM_UPLOAD_DIR"]).glob("*.csv")}


@pytest.fixture
def new_files(app):
    """Files the test leaves in the upload folder (earlier tests' files excluded)."""
    before = upload_files(app)
    return lambda: sorted(upload_files(app) - before)


def test_bulk_caller_answers_at_once_then_the_worker_imports(
    api, app, campaign_id, tmp_path, new_files
):
    info = write_contacts_csv(tmp_path / "c.csv", 60, bad_every=6, header=True)
    res = post_file(api, BULK, info.path.read_bytes(), campaignId=campaign_id)
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert body["message"] == "File is uploaded" and isinstance(body["uploadId"], int)
    upload_id = body["uploadId"]
    assert len(new_files()) == 1
    with app.app_context():
        job = Job.fetch(f"import-{upload_id}", connection=q.connection())
        assert job.func_name == "worker.jobs.import_upload" and job.args == (upload_id,)
        assert job.timeout == uploads.DEFAULT_JOB_TIMEOUT and job.retries_left == 3
    queued = api.get(f"/umm/ecm/upload/{upload_id}").get_json()
    assert queued["state"] == "queued" and queued["percent"] == 0
    work_queue(app)
    status = api.get(f"/umm/ecm/upload/{upload_id}")
    assert status.status_code == 200
    done = status.get_json()
    assert done["state"] == "done" and done["percent"] == 100
    assert (done["rowsRead"], done["accepted"], done["rejected"]) == (
        60,
        info.accepted,
        info.rejected,
    )
    assert done["duplicates"] == 0 and done["dncFlagged"] == 0
    assert done["campaignId"] == campaign_id and done["kind"] == "contacts"
    assert done["fileName"] == "contacts.csv" and done["finishedAt"].endswith("Z")
    with app.app_context():
        job = Job.fetch(f"import-{upload_id}", connection=q.connection())
        assert job.meta["progress"]["rows_read"] == 60
        assert job.return_value()["state"] == "done"
    report = api.get(f"/umm/ecm/upload/{upload_id}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    assert [int(r["line"]) for r in rows] == sorted(info.bad_lines)
    listing = api.get(f"/umm/ecm/upload?campaignId={campaign_id}").get_json()
    assert [u["uploadId"] for u in listing] == [upload_id]


def test_dnc_csv_upload(api, app):
    data = b"number,name\n(202) 555-0101,Ann\n2025550102\nnope,x\n"
    res = post_file(api, DNC, data, filename="dnc.csv")
    assert res.status_code == 200
    upload_id = res.get_json()["uploadId"]
    work_queue(app)
    done = api.get(f"/umm/ecm/upload/{upload_id}").get_json()
    assert (done["kind"], done["campaignId"], done["state"]) == ("dnc", None, "done")
    assert (done["rowsRead"], done["accepted"], done["rejected"]) == (3, 2, 1)
    listed = api.get("/umm/ecm/contact").get_json()
    assert sorted(e["primaryNumber"] for e in listed) == ["2025550101", "2025550102"]


@pytest.mark.parametrize(
    ("fields", "data", "status", "field"),
    [
        ({}, b"2025550101\n", 406, "campaignId"),
        ({"campaignId": 999}, b"2025550101\n", 404, None),
        ({"campaignId": "x"}, b"2025550101\n", 406, "campaignId"),
        (
            {"campaignId": "{cid}", "duplicateCallbacks": "maybe"},
            b"1\n",
            406,
            "duplicateCallbacks",
        ),
        ({"campaignId": "{cid}"}, b"", 406, "file"),
        ({"campaignId": "{cid}"}, b"PK\x03\x04\x00\x00binary", 406, "file"),
    ],
)
def test_bad_uploads_are_refused_with_the_seed_errors(
    api, app, campaign_id, new_files, fields, data, status, field
):
    fields = {k: str(v).replace("{cid}", str(campaign_id)) for k, v in fields.items()}
    res = post_file(api, BULK, data, **fields)
    assert res.status_code == status, res.get_data(as_text=True)
    body = res.get_json()
    if field:
        assert body["error"] == "not_acceptable" and field in body["fields"]
    assert new_files() == []


def test_missing_file_field(api, campaign_id, app):
    res = api.post(
        BULK, data={"campaignId": str(campaign_id)}, content_type="multipart/form-data"
    )
    assert res.status_code == 406
    assert res.get_json()["fields"] == {"file": "is required (multipart field 'file')"}


def test_same_file_twice_needs_force(api, app, campaign_id, new_files):
    data = b"2025550101\n2025550102\n"
    first = post_file(api, BULK, data, campaignId=campaign_id)
    assert first.status_code == 200
    again = post_file(api, BULK, data, campaignId=campaign_id)
    assert again.status_code == 406
    body = again.get_json()
    assert body["message"] == "Duplicate file"
    assert f"upload {first.get_json()['uploadId']}" in body["fields"]["file"]
    forced = post_file(api, BULK, data, campaignId=campaign_id, force="true")
    assert forced.status_code == 200
    assert len(new_files()) == 2


def test_oversize_upload_is_a_clear_413(app_factory, tmp_path):
    from tests.conftest import Api, login_token

    app = app_factory(MAX_CONTENT_LENGTH=2048, ECM_UPLOAD_DIR=str(tmp_path / "up"))
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    client = app.test_client()
    api = Api(client, login_token(client, "admin", "admin"))
    res = post_file(api, DNC, b"2025550101\n" * 1000)
    assert res.status_code == 413
    assert res.get_json() == {
        "error": "payload_too_large",
        "message": "The file is larger than the upload limit of 0.00195312 MB",
    }
    assert not list((tmp_path / "up").glob("*"))


@pytest.mark.parametrize("store", ["database", "disk"])
def test_oversize_stream_without_declared_length_stops_writing(
    app_factory, tmp_path, store
):
    folder = tmp_path / "in"
    app = app_factory(
        MAX_CONTENT_LENGTH=None,
        ECM_MAX_UPLOAD_MB=1,
        ECM_UPLOAD_STORAGE=store,
        ECM_UPLOAD_DIR=str(folder),
    )
    with app.app_context():
        incoming = uploads.incoming_factory(uploads.max_upload_bytes())()
        with pytest.raises(uploads.PayloadTooLarge):
            for _ in range(20):
                incoming.write(b"x" * 100_000)
        from sqlalchemy import func, select

        from portal.extensions import db
        from portal.models import UploadFile

        assert db.session.scalar(select(func.count()).select_from(UploadFile)) == 0
    assert not list(folder.glob("*"))


def test_roles_and_auth(api, viewer_api, client, app, campaign_id, new_files):
    res = post_file(viewer_api, BULK, b"2025550101\n", campaignId=campaign_id)
    assert res.status_code == 403
    assert new_files() == []
    upload_id = post_file(
        api, BULK, b"2025550101\n", campaignId=campaign_id
    ).get_json()["uploadId"]
    assert viewer_api.get(f"/umm/ecm/upload/{upload_id}").status_code == 200
    assert viewer_api.get(f"/umm/ecm/upload/{upload_id}/errors.csv").status_code == 200
    assert client.get(f"/umm/ecm/upload/{upload_id}").status_code == 401
    assert client.post(BULK).status_code == 401
    assert api.get("/umm/ecm/upload/999").status_code == 404
    assert api.get("/umm/ecm/upload/999/errors.csv").get_json()["error"] == "not_found"
    assert api.get(BULK).status_code == 405


def test_openapi_documents_the_upload_endpoints(api):
    doc = api.get("/umm/openapi.json").get_json()
    bulk = doc["paths"]["/umm/ecm/callback/uploadBulkCaller"]["post"]
    assert "multipart/form-data" in bulk["requestBody"]["content"]
    assert "/umm/ecm/contact/uploadCsv" in doc["paths"]
    report = doc["paths"]["/umm/ecm/upload/{upload_id}/errors.csv"]["get"]
    assert "text/csv" in report["responses"]["200"]["content"]
