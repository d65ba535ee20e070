"""Uploaded files kept in the database or on disk behind one interface (issue #16).

Real bytes through the real store: a file of several 1 MB chunks written the way
werkzeug hands it over, read back the way the import reads it, on both databases.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Upload, UploadFile, UploadFileChunk, utcnow
from portal.services.errors import ValidationFailed
from portal.services.uploads import storage

STORES = ["database", "disk"]


class Refused(Exception):
    pass


def _blocks(total: int, block: int = 64 * 1024):
    data = os.urandom(total)
    return data, [data[i : i + block] for i in range(0, total, block)]


def _rows() -> tuple[int, int]:
    db.session.rollback()
    files = db.session.scalar(select(func.count()).select_from(UploadFile))
    chunks = db.session.scalar(select(func.count()).select_from(UploadFileChunk))
    return files, chunks


def _admin():
    from portal.models import User
    from portal.services import users

    users.ensure_admin("admin", is_default=True)
    return db.session.scalar(select(User).where(User.username == "admin"))


@pytest.fixture(params=STORES)
def store_app(request, app_factory, tmp_path):
    """An app whose uploads go to one store; its own admin (the `admin` fixture's
    app context would push the default app over this one)."""
    app = app_factory(ECM_UPLOAD_STORAGE=request.param, ECM_UPLOAD_DIR=str(tmp_path))
    with app.app_context():
        yield app, request.param


@pytest.fixture
def store_admin(store_app):
    return _admin()


def test_a_file_goes_in_and_comes_out_the_same_in_chunks(store_app):
    app, name = store_app
    size = 2 * storage.CHUNK_BYTES + 12_345
    data, blocks = _blocks(size)
    incoming = storage.receiver(10 * storage.CHUNK_BYTES, Refused)
    for block in blocks:
        incoming.write(block)
    incoming.finish()
    assert incoming.size == size
    assert incoming.digest() == hashlib.sha256(data).hexdigest()
    assert incoming.head == data[: storage.SNIFF_BYTES]
    assert incoming.ref.startswith("db:") == (name == "database")
    if name == "database":
        assert _rows() == (1, 3)  # three chunks of at most 1 MB
        assert (
            max(db.session.scalars(select(func.length(UploadFileChunk.data))))
            == storage.CHUNK_BYTES
        )
    assert storage.exists(incoming.ref)
    with storage.open_file(incoming.ref) as stream:
        first = stream.readline(100)
        rest = stream.read()
    assert first + rest == data
    incoming.discard()
    assert not storage.exists(incoming.ref)
    assert _rows() == (0, 0)


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(store_app, tmp_path):
    app, name = store_app
    _, blocks = _blocks(3 * storage.CHUNK_BYTES)
    incoming = storage.receiver(storage.CHUNK_BYTES + 10, Refused)
    with pytest.raises(Refused):
        for block in blocks:
            incoming.write(block)
    incoming.close()
    assert _rows() == (0, 0)
    assert list(tmp_path.iterdir()) == []


def test_a_request_cut_off_half_way_leaves_nothing(store_app, tmp_path):
    """close() without keep(): the parser gave up (client gone, bad multipart)."""
    _, blocks = _blocks(storage.CHUNK_BYTES + 5)
    incoming = storage.receiver(10 * storage.CHUNK_BYTES, Refused)
    for block in blocks:
        incoming.write(block)
    incoming.close()
    assert _rows() == (0, 0)
    assert list(tmp_path.iterdir()) == []


def _kept_upload(admin, name: str, state: str = "queued") -> tuple[Upload, str]:
    data, blocks = _blocks(storage.CHUNK_BYTES + 1)
    incoming = storage.receiver(10 * storage.CHUNK_BYTES, Refused)
    for block in blocks:
        incoming.write(block)
    incoming.finish()
    upload = Upload(
        kind="dnc",
        filename="x.csv",
        stored_path=incoming.ref,
        size_bytes=incoming.size,
        content_hash=incoming.digest(),
        state=state,
        created_by=admin.id,
    )
    db.session.add(upload)
    db.session.flush()
    incoming.keep(upload.id)
    db.session.commit()
    return upload, incoming.ref


def test_deleting_the_upload_deletes_its_file(store_app, store_admin):
    app, name = store_app
    admin = store_admin
    upload, ref = _kept_upload(admin, name)
    assert storage.exists(ref)
    files = storage.disk_files_of([upload.id])
    assert files == ([] if name == "database" else [ref])
    db.session.delete(upload)
    db.session.commit()
    for path in files:
        storage.remove(path)
    assert not storage.exists(ref)
    assert _rows() == (0, 0)


def test_in_the_database_the_file_cascades_with_its_upload_row(app_factory, tmp_path):
    app = app_factory(ECM_UPLOAD_STORAGE="database")
    with app.app_context():
        upload, _ = _kept_upload(_admin(), "database")
        db.session.execute(Upload.__table__.delete().where(Upload.id == upload.id))
        db.session.commit()
        assert _rows() == (0, 0)


def test_retention_removes_failed_uploads_files_and_abandoned_rows(
    store_app, store_admin
):
    app, name = store_app
    admin = store_admin
    app.config["ECM_UPLOAD_RETENTION_HOURS"] = 24
    old, old_ref = _kept_upload(admin, name, state="failed")
    recent, recent_ref = _kept_upload(admin, name, state="failed")
    running, running_ref = _kept_upload(admin, name, state="running")
    now = utcnow()
    old.finished_at = now - timedelta(hours=25)
    recent.finished_at = now - timedelta(hours=23)
    running.created_at = now - timedelta(days=30)
    db.session.commit()
    abandoned = storage.receiver(1000, Refused)
    abandoned.write(b"phone1\n")
    abandoned.finish()  # the request's process died before the upload row: no owner
    if name == "database":
        db.session.execute(
            UploadFile.__table__.update()
            .where(UploadFile.upload_id.is_(None))
            .values(created_at=now - timedelta(hours=2))
        )
        db.session.commit()

    removed = storage.purge_expired(now)

    assert not storage.exists(old_ref)
    assert storage.exists(recent_ref) and storage.exists(running_ref)
    db.session.refresh(old)
    assert old.stored_path == ""
    if name == "database":
        assert removed == 2  # the expired file and the abandoned one
        assert not storage.exists(abandoned.ref)
    else:
        assert removed == 1
        abandoned.discard()
    app.config["ECM_UPLOAD_RETENTION_HOURS"] = 0
    assert storage.purge_expired(now + timedelta(days=365)) == 0


def test_default_store_is_the_database_on_postgresql_and_disk_on_sqlite(
    app_factory, backend
):
    app = app_factory(ECM_UPLOAD_STORAGE="")
    with app.app_context():
        expected = "database" if backend == "postgresql" else "disk"
        assert storage.storage() == expected


def test_an_upload_imports_from_either_store_and_leaves_no_copy(
    store_app, store_admin, tmp_path
):
    """The same file through the service in each store: counts, report, cleanup; a
    second chunk size small enough that the file is read across chunk rows."""
    from portal.services import uploads
    from tests.services.upload_files import make_campaign, write_contacts_csv

    app, name = store_app
    app.config["ECM_IMPORT_CHUNK_ROWS"] = 500
    campaign = make_campaign(store_admin, name=f"Store {name}")
    info = write_contacts_csv(tmp_path / "in.csv", 3_000, bad_every=10, dnc_every=0)
    with open(info.path, "rb") as handle:
        upload = uploads.store_upload(
            store_admin, "contacts", handle, "in.csv", campaign_id=campaign.id
        )
    assert upload.stored_path.startswith("db:") == (name == "database")
    assert upload.content_hash == hashlib.sha256(info.path.read_bytes()).hexdigest()
    result = uploads.run_import(upload.id)
    assert result["state"] == "done", result
    assert (result["rowsRead"], result["accepted"], result["rejected"]) == (
        3_000,
        3_000 - info.rejected,
        info.rejected,
    )
    assert len(list(uploads.error_report(store_admin, upload))) == info.rejected + 1
    assert not storage.exists(upload.stored_path)
    assert _rows() == (0, 0)
    with open(info.path, "rb") as handle, pytest.raises(ValidationFailed) as refused:
        uploads.store_upload(
            store_admin, "contacts", handle, "in.csv", campaign_id=campaign.id
        )
    assert "already uploaded" in refused.value.fields["file"]
    assert _rows() == (0, 0)  # the refused repeat left nothing behind


def test_deleting_a_campaign_removes_its_uploads_files(
    store_app, store_admin, tmp_path
):
    from portal.services import campaigns, uploads
    from tests.services.upload_files import make_campaign, write_contacts_csv

    app, name = store_app
    campaign = make_campaign(store_admin, name=f"Gone {name}")
    info = write_contacts_csv(tmp_path / "in.csv", 50, bad_every=0, dnc_every=0)
    with open(info.path, "rb") as handle:
        upload = uploads.store_upload(
            store_admin, "contacts", handle, "in.csv", campaign_id=campaign.id
        )
    ref = upload.stored_path
    assert storage.exists(ref)
    campaigns.delete_campaign(store_admin, campaign.id)
    assert not storage.exists(ref)
    assert _rows() == (0, 0)
