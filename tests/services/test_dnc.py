"""DNC rules: numbers kept as given, matched by E.164 key, blocking open contacts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditLog
from portal.services import campaigns, contacts, dnc, strategies
from portal.services.enums import BLOCKED_DNC, DISPATCHED, PENDING, RESULT_ON_DNC
from portal.services.errors import Forbidden, NotFound, ValidationFailed


def test_add_keeps_the_number_as_given_without_formatting(admin):
    entry = dnc.add_entry(admin, {"name": "David", "primaryNumber": "(415) 555-0100"})
    assert (entry.primary_number, entry.match_key) == ("4155550100", "+14155550100")
    assert (entry.name, entry.update_by_id) == ("David", admin.id)


def test_seed_number_is_stored_as_written(admin):
    entry = dnc.add_entry(admin, {"name": "David", "primaryNumber": "03062558180"})
    assert entry.primary_number == "03062558180"


@pytest.mark.parametrize("first", ["+1 415 555 0100", "415.555.0100", "+14155550100"])
def test_the_same_number_in_another_format_is_a_duplicate(admin, first):
    dnc.add_entry(admin, {"primaryNumber": first})
    with pytest.raises(ValidationFailed) as exc:
        dnc.add_entry(admin, {"primaryNumber": "(415) 555-0100"})
    assert exc.value.fields == {"primaryNumber": "is already on the DNC list"}


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("12", "too short"),
        ("1" * 21, "too long"),
        ("call me", "letters"),
        ("+1+2345", "'+'"),
        ("", "empty"),
        (None, None),
        (True, None),
        ([], None),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(admin, number, reason):
    with pytest.raises(ValidationFailed) as exc:
        dnc.add_entry(admin, {"primaryNumber": number})
    assert "primaryNumber" in exc.value.fields
    if reason:
        assert reason in exc.value.fields["primaryNumber"]


@pytest.mark.parametrize(
    "number", ["123", "1" * 20, "*3101#", "+442071838750", 4155550100]
)
def test_valid_edge_numbers(admin, number):
    assert dnc.add_entry(admin, {"primaryNumber": number}).primary_number == str(number)


def test_number_alias_is_accepted(admin):
    assert (
        dnc.add_entry(admin, {"number": "+14155550100"}).primary_number
        == "+14155550100"
    )


def test_adding_blocks_pending_contacts_but_not_dispatched_ones(admin):
    s = strategies.create_strategy(admin, {"name": "S"})
    c = campaigns.create_campaign(admin, {"name": "C", "strategyId": s.id})
    pending = contacts.insert_contact(
        admin, {"campaignId": c.id, "phone1": "4155550100"}
    )
    dispatched = contacts.insert_contact(
        admin, {"campaignId": c.id, "phone1": "+14155550100"}
    )
    dispatched.request_state = DISPATCHED
    other = contacts.insert_contact(
        admin, {"campaignId": c.id, "phone1": "+14155550199"}
    )
    db.session.commit()
    dnc.add_entry(admin, {"primaryNumber": "+1 (415) 555-0100"})
    db.session.expire_all()
    assert (pending.request_state, pending.call_result) == (BLOCKED_DNC, RESULT_ON_DNC)
    assert pending.last_status_update_time is not None
    assert dispatched.request_state == DISPATCHED, (
        "the dialer has it; its result decides"
    )
    assert other.request_state == PENDING


def test_changing_the_number_blocks_contacts_of_the_new_number(admin):
    s = strategies.create_strategy(admin, {"name": "S"})
    c = campaigns.create_campaign(admin, {"name": "C", "strategyId": s.id})
    contact = contacts.insert_contact(
        admin, {"campaignId": c.id, "phone1": "+14155550111"}
    )
    entry = dnc.add_entry(admin, {"primaryNumber": "+14155550100"})
    dnc.update_entry(admin, {"id": entry.id, "primaryNumber": "415 555 0111"})
    db.session.expire_all()
    assert contact.request_state == BLOCKED_DNC


def test_update_accepts_the_seed_echo_and_ignores_its_dates(admin):
    entry = dnc.add_entry(admin, {"primaryNumber": "+14155550100"})
    created = entry.date_created
    updated = dnc.update_entry(
        admin,
        {
            "id": entry.id,
            "name": "David",
            "updateById": 77,
            "primaryNumber": "03062558180",
            "dataCreated": "2019-07-31T12:02:09Z",
            "lastUpdated": "2019-07-31T12:02:09Z",
        },
    )
    assert (updated.name, updated.primary_number, updated.update_by_id) == (
        "David",
        "03062558180",
        admin.id,
    )
    assert updated.date_created == created


def test_update_keeps_fields_not_sent_and_refuses_null_number(admin):
    entry = dnc.add_entry(admin, {"name": "Keep", "primaryNumber": "+14155550100"})
    dnc.update_entry(admin, {"id": entry.id, "primaryNumber": "+14155550101"})
    assert entry.name == "Keep"
    dnc.update_entry(admin, {"id": entry.id, "name": None})
    assert entry.name is None
    with pytest.raises(ValidationFailed) as exc:
        dnc.update_entry(admin, {"id": entry.id, "primaryNumber": None})
    assert exc.value.fields == {"primaryNumber": "may not be null"}


def test_update_refuses_a_number_another_entry_has(admin):
    dnc.add_entry(admin, {"primaryNumber": "+14155550100"})
    second = dnc.add_entry(admin, {"primaryNumber": "+14155550101"})
    with pytest.raises(ValidationFailed):
        dnc.update_entry(admin, {"id": second.id, "primaryNumber": "4155550100"})
    # its own number, reformatted, is fine
    assert dnc.update_entry(admin, {"id": second.id, "primaryNumber": "415-555-0101"})


def test_delete_and_unknown_ids(admin):
    entry = dnc.add_entry(admin, {"primaryNumber": "+14155550100"})
    dnc.delete_entry(admin, entry.id)
    assert not dnc.is_blocked("+14155550100")
    with pytest.raises(NotFound):
        dnc.delete_entry(admin, entry.id)
    with pytest.raises(NotFound):
        dnc.update_entry(admin, {"id": entry.id, "name": "x"})
    with pytest.raises(ValidationFailed):
        dnc.get_entry(admin, "one")


def test_is_blocked_and_blocked_keys(admin):
    for n in range(3):
        dnc.add_entry(admin, {"primaryNumber": f"+1415555010{n}"})
    assert dnc.is_blocked("+14155550101")
    assert not dnc.is_blocked("+14155550109")
    keys = [f"+1415555{n:04d}" for n in range(2500)]
    assert dnc.blocked_keys(keys) == {"+14155550100", "+14155550101", "+14155550102"}


def test_list_search_by_name_or_digits_with_total(admin):
    dnc.add_entry(admin, {"name": "David Jones", "primaryNumber": "+14155550100"})
    dnc.add_entry(admin, {"name": "Maria", "primaryNumber": "+442071838750"})
    dnc.add_entry(admin, {"name": "Omar", "primaryNumber": "03062558180"})
    by_name, total = dnc.list_entries(admin, search="david")
    assert ([e.name for e in by_name], total) == (["David Jones"], 1)
    by_digits, _ = dnc.list_entries(admin, search="(415) 555")
    assert [e.name for e in by_digits] == ["David Jones"]
    page, total = dnc.list_entries(admin, offset=1, limit=1)
    assert ([e.name for e in page], total) == (["Maria"], 3)
    after, total = dnc.list_entries(admin, after_id=page[0].id)
    assert ([e.name for e in after], total) == (["Omar"], None)
    assert dnc.list_entries(admin, search="\x00%_")[1] == 0, "wildcards are literal"
    dnc.add_entry(admin, {"name": "50% off_sale", "primaryNumber": "+14155550177"})
    assert [e.name for e in dnc.list_entries(admin, search="% OFF_")[0]] == [
        "50% off_sale"
    ]


def test_audit_rows(admin):
    entry = dnc.add_entry(admin, {"name": "A", "primaryNumber": "+14155550100"})
    dnc.update_entry(admin, {"id": entry.id, "name": "B"})
    dnc.update_entry(admin, {"id": entry.id, "name": "B"})  # nothing changed
    dnc.delete_entry(admin, entry.id)
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "dnc").order_by(AuditLog.id)
    ).all()
    assert [(r.action, r.changes) for r in rows] == [
        ("create", {"primaryNumber": "+14155550100", "name": "A"}),
        ("update", {"name": ["A", "B"]}),
        ("delete", {"primaryNumber": "+14155550100"}),
    ]


def test_roles(admin, viewer, supervisor):
    entry = dnc.add_entry(supervisor, {"primaryNumber": "+14155550100"})
    assert dnc.list_entries(viewer)[1] == 1
    with pytest.raises(Forbidden):
        dnc.add_entry(viewer, {"primaryNumber": "+14155550101"})
    with pytest.raises(Forbidden):
        dnc.update_entry(viewer, {"id": entry.id, "name": "x"})
    with pytest.raises(Forbidden):
        dnc.delete_entry(viewer, entry.id)
