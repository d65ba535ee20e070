"""Preference rules: one row, batch sizes defaulting to 10, a password never shown."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditLog, PreferenceSettings
from portal.services import preferences
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from portal.services.preferences import PASSWORD_MASK


def test_nothing_saved_yet(admin):
    with pytest.raises(NotFound):
        preferences.get_preferences(admin)
    assert preferences.batch_sizes() == (10, 10)
    assert preferences.as_dict(None) == {}


def test_save_creates_one_row_and_saving_again_updates_it(admin):
    first = preferences.save_preferences(
        admin, {"campaignBatchSize": 22, "ivrBatchSize": 33}
    )
    second = preferences.save_preferences(admin, {"filePath": "/drop", "id": 12345})
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(PreferenceSettings)) == 1
    assert (second.campaign_batch_size, second.ivr_batch_size, second.file_path) == (
        22,
        33,
        "/drop",
    )
    assert preferences.batch_sizes() == (22, 33)


def test_batch_sizes_default_to_10_and_null_resets_them(admin):
    prefs = preferences.save_preferences(admin, {"filePath": "/drop"})
    assert (prefs.campaign_batch_size, prefs.ivr_batch_size) == (10, 10)
    preferences.save_preferences(admin, {"campaignBatchSize": 50})
    preferences.save_preferences(admin, {"campaignBatchSize": None})
    assert prefs.campaign_batch_size == 10


@pytest.mark.parametrize("value", [0, -1, 10_001, "lots", 1.5])
def test_batch_sizes_are_bounded(admin, value):
    with pytest.raises(ValidationFailed) as exc:
        preferences.save_preferences(admin, {"ivrBatchSize": value})
    assert "ivrBatchSize" in exc.value.fields


def test_the_mask_keeps_the_stored_password(admin):
    preferences.save_preferences(admin, {"username": "sa", "password": "s3cret"})
    preferences.save_preferences(admin, {"password": PASSWORD_MASK, "username": "dbo"})
    prefs = preferences.current()
    assert (prefs.username, prefs.password) == ("dbo", "s3cret")
    preferences.save_preferences(admin, {"password": ""})
    assert prefs.password == ""


def test_the_password_never_reaches_the_audit_log(admin):
    preferences.save_preferences(admin, {"password": "first-secret"})
    preferences.save_preferences(admin, {"password": "second-secret", "Domain": "CORP"})
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "preferences").order_by(AuditLog.id)
    ).all()
    assert [r.action for r in rows] == ["create", "update"]
    assert rows[1].changes["password"] == ["********", "********"]
    assert rows[1].changes["domain"] == [None, "CORP"]
    assert "secret" not in str([r.changes for r in rows])


def test_domain_spellings(admin):
    assert preferences.save_preferences(admin, {"Domain": "A"}).domain == "A"
    assert preferences.save_preferences(admin, {"domain": "B"}).domain == "B"


def test_update_needs_the_existing_row(admin):
    with pytest.raises(NotFound):
        preferences.save_preferences(admin, {"ivrBatchSize": 5}, must_exist=True)
    prefs = preferences.save_preferences(admin, {"ivrBatchSize": 5})
    with pytest.raises(NotFound):
        preferences.save_preferences(admin, {"id": prefs.id + 1}, must_exist=True)
    updated = preferences.save_preferences(
        admin, {"id": prefs.id, "ivrBatchSize": 6}, must_exist=True
    )
    assert updated.ivr_batch_size == 6


def test_delete(admin):
    prefs = preferences.save_preferences(admin, {"ivrBatchSize": 5})
    preferences.delete_preferences(admin, prefs.id)
    assert preferences.current() is None
    with pytest.raises(NotFound):
        preferences.delete_preferences(admin, prefs.id)


def test_as_dict_gives_adapters_the_clear_password(admin):
    prefs = preferences.save_preferences(admin, {"filePath": "/in", "password": "pw"})
    assert preferences.as_dict(prefs) == {
        "campaignBatchSize": 10,
        "ivrBatchSize": 10,
        "filePath": "/in",
        "fileArchivePath": None,
        "username": None,
        "password": "pw",
        "Domain": None,
    }


def test_only_the_administrator_writes_everyone_reads(admin, supervisor, viewer):
    prefs = preferences.save_preferences(admin, {"ivrBatchSize": 5})
    assert preferences.get_preferences(viewer) is prefs
    assert preferences.get_preferences(supervisor) is prefs
    for actor in (supervisor, viewer):
        with pytest.raises(Forbidden):
            preferences.save_preferences(actor, {"ivrBatchSize": 6})
        with pytest.raises(Forbidden):
            preferences.delete_preferences(actor, prefs.id)
