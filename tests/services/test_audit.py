"""The audit trail: who changed what, with the changed fields only, secrets masked."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal.extensions import db
from portal.models import Campaign
from portal.services import audit
from portal.services.errors import Unauthorized


def test_diff_applies_values_and_reports_only_changes():
    c = Campaign(name="a", start_time="08:00", end_time="18:00")
    changed = audit.diff(c, {"name": "b", "start_time": "08:00", "end_time": "19:00"})
    assert changed == {"name": ["a", "b"], "end_time": ["18:00", "19:00"]}
    assert (c.name, c.end_time) == ("b", "19:00")


def test_diff_masks_secrets_and_renders_dates():
    c = Campaign(name="a", date_created=datetime(2024, 1, 1, 12, 0))
    changed = audit.diff(
        c, {"name": "pw", "date_created": datetime(2024, 1, 2)}, secret={"name"}
    )
    assert changed == {
        "name": ["********", "********"],
        "date_created": ["2024-01-01T12:00:00", "2024-01-02T00:00:00"],
    }


def test_record_joins_the_callers_transaction(admin):
    audit.record(admin, "update", "campaign", 7, {"name": ["a", "b"]}, "renamed")
    db.session.rollback()
    assert audit.list_entries(admin, entity="campaign") == []
    audit.record(admin, "update", "campaign", 7, {"name": ["a", "b"]}, "renamed")
    db.session.commit()
    [row] = audit.list_entries(admin, entity="campaign")
    assert (row.user_id, row.username, row.action, row.entity_id, row.summary) == (
        admin.id,
        "admin",
        "update",
        "7",
        "renamed",
    )
    assert row.changes == {"name": ["a", "b"]} and row.at is not None


def test_system_actions_are_recorded_as_system(admin):
    audit.record(None, "create", "campaign", None)
    db.session.commit()
    [row] = audit.list_entries(admin, entity="campaign", username="system")
    assert (row.user_id, row.entity_id, row.changes) == (None, None, None)


def test_list_is_newest_first_and_keyset_paged(admin):
    for n in range(5):
        audit.record(admin, "update", "dnc", n)
    db.session.commit()
    first = audit.list_entries(admin, entity="dnc", limit=2)
    assert [r.entity_id for r in first] == ["4", "3"]
    rest = audit.list_entries(admin, entity="dnc", before_id=first[-1].id)
    assert [r.entity_id for r in rest] == ["2", "1", "0"]
    assert audit.list_entries(admin, username="nobody") == []


def test_reading_the_trail_needs_a_signed_in_user(ctx):
    with pytest.raises(Unauthorized):
        audit.list_entries(None)
