"""Preference settings: feed batch sizes, file-drop paths and the dialer DB login."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select

from portal.extensions import db
from portal.models import PreferenceSettings, User
from portal.services import audit
from portal.services.calling_rules.fields import PolicyFields, rule_values
from portal.services.errors import NotFound
from portal.services.roles import ADMIN, READERS, require
from portal.services.validation import as_int, parse

PASSWORD_MASK = "********"
DEFAULT_BATCH_SIZE = 10


class PreferencesIn(PolicyFields):
    """The seed's fields plus the system calling policy (PolicyFields)."""

    id: int | None = None
    campaignBatchSize: int | None = Field(default=None, ge=1, le=10_000)
    ivrBatchSize: int | None = Field(default=None, ge=1, le=10_000)
    filePath: str | None = Field(default=None, max_length=1024)
    fileArchivePath: str | None = Field(default=None, max_length=1024)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255)
    Domain: str | None = Field(default=None, max_length=255)


FIELD_MAP = {
    "campaignBatchSize": "campaign_batch_size",
    "ivrBatchSize": "ivr_batch_size",
    "filePath": "file_path",
    "fileArchivePath": "file_archive_path",
    "username": "username",
    "password": "password",
    "Domain": "domain",
}


def current() -> PreferenceSettings | None:
    """The one settings row, or None before anything was saved."""
    return db.session.scalar(
        select(PreferenceSettings).order_by(PreferenceSettings.id).limit(1)
    )


def batch_sizes() -> tuple[int, int]:
    """(agent batch, IVR batch) for the feed, with the seed's default of 10."""
    prefs = current()
    if prefs is None:
        return DEFAULT_BATCH_SIZE, DEFAULT_BATCH_SIZE
    return (
        prefs.campaign_batch_size or DEFAULT_BATCH_SIZE,
        prefs.ivr_batch_size or DEFAULT_BATCH_SIZE,
    )


def as_dict(prefs: PreferenceSettings | None) -> dict[str, Any]:
    """The settings as the dialer adapters read them (password in clear: internal)."""
    if prefs is None:
        return {}
    return {api: getattr(prefs, col) for api, col in FIELD_MAP.items()}


def get_preferences(actor: User) -> PreferenceSettings:
    require(actor, READERS)
    prefs = current()
    if prefs is None:
        raise NotFound("No preference settings have been saved yet")
    return prefs


def save_preferences(
    actor: User, data: dict, *, must_exist: bool = False
) -> PreferenceSettings:
    """Create or update the one settings row; a masked password keeps the stored one."""
    require(actor, ADMIN)
    body = parse(PreferencesIn, data, aliases={"domain": "Domain"})
    prefs = current()
    if must_exist and (prefs is None or (body.id is not None and body.id != prefs.id)):
        raise NotFound(f"Preference settings with id {body.id} not found")
    created = prefs is None
    if created:
        prefs = PreferenceSettings(
            campaign_batch_size=DEFAULT_BATCH_SIZE, ivr_batch_size=DEFAULT_BATCH_SIZE
        )
        db.session.add(prefs)
    values = {}
    for api_name, column in FIELD_MAP.items():
        if api_name not in body.model_fields_set:
            continue
        value = getattr(body, api_name)
        if api_name == "password" and value == PASSWORD_MASK:
            continue
        if api_name in ("campaignBatchSize", "ivrBatchSize") and value is None:
            value = DEFAULT_BATCH_SIZE
        values[column] = value
    values.update(rule_values(body))
    changes = audit.diff(prefs, values, secret={"password"})
    db.session.flush()
    if changes or created:
        audit.record(
            actor, "create" if created else "update", "preferences", prefs.id, changes
        )
    db.session.commit()
    return prefs


def delete_preferences(actor: User, pref_id: Any) -> None:
    require(actor, ADMIN)
    pid = as_int(pref_id, "id")
    prefs = db.session.get(PreferenceSettings, pid)
    if prefs is None:
        raise NotFound(f"Preference settings with id {pid} not found")
    audit.record(actor, "delete", "preferences", pid)
    db.session.delete(prefs)
    db.session.commit()
