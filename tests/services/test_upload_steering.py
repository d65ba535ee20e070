"""Bulk uploads for #14: the priority column, duplicateScope all, and duplicates within
one file across phone1-phone5 (real CSV files, both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact
from portal.services import contacts
from portal.services.errors import ValidationFailed
from tests.services.test_imports import assert_balanced, report, run, upload_file
from tests.services.upload_files import make_campaign

EMPTY_PARAMS = "," * 12  # businessParam1-12 left empty


@pytest.fixture
def campaign(admin):
    return make_campaign(admin, time_zone="UTC")


def test_priority_column_is_stored_and_checked(admin, campaign, tmp_path):
    path = tmp_path / "prio.csv"
    rows = [
        f"2025550101,,,,{EMPTY_PARAMS},,7",
        f"2025550102,,,,{EMPTY_PARAMS},2026-12-01 09:00:00,",
        f"2025550103,,,,{EMPTY_PARAMS},,high",
        f"2025550104,,,,{EMPTY_PARAMS},,-3",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.accepted, done.rejected) == (3, 1)
    assert_balanced(done)
    stored = dict(
        db.session.execute(
            select(Contact.phone1, Contact.priority).where(
                Contact.campaign_id == campaign.id
            )
        ).all()
    )
    assert stored == {"2025550101": 7, "2025550102": 0, "2025550104": -3}
    reasons = {r["line"]: r["reason"] for r in report(admin, done)}
    assert reasons["3"] == "priority: must be a whole number"


def test_header_may_name_the_priority_column(admin, campaign, tmp_path):
    path = tmp_path / "header.csv"
    header = ",".join(
        ["phone1", "phone2", "phone3", "phone4", "phone5"]
        + [f"businessParam{i}" for i in range(1, 13)]
        + ["dialTime", "priority"]
    )
    path.write_text(f"{header}\n2025550111,,,,{EMPTY_PARAMS},,5\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted) == (1, 1)


def test_duplicate_scope_all_looks_in_every_campaign(admin, campaign, tmp_path):
    other = make_campaign(admin, name="Other campaign", time_zone="UTC")
    contacts.insert_contact(admin, {"campaignId": other.id, "phone1": "2025550120"})
    path = tmp_path / "scope.csv"
    path.write_text("2025550120\n2025550121\n", encoding="utf-8")
    here = run(upload_file(admin, "contacts", path, campaign, duplicate_policy="deny"))
    assert (here.accepted, here.duplicates) == (2, 0)
    again = tmp_path / "scope2.csv"
    again.write_text("2025550120\n2025550122\n", encoding="utf-8")
    third = make_campaign(admin, name="Third", time_zone="UTC")
    done = run(
        upload_file(
            admin,
            "contacts",
            again,
            third,
            duplicate_policy="deny",
            duplicate_scope="all",
        )
    )
    assert (done.accepted, done.duplicates) == (1, 1)
    assert report(admin, done)[0]["reason"] == (
        "duplicate: phone1 already has an open contact in a campaign"
    )
    with pytest.raises(ValidationFailed) as err:
        upload_file(admin, "contacts", again, third, duplicate_scope="galaxy")
    assert "duplicateScope" in err.value.fields


def test_duplicates_within_the_file_across_phone1_to_phone5(admin, campaign, tmp_path):
    path = tmp_path / "phones.csv"
    path.write_text(
        "2025550130,2025550131\n"  # kept
        "2025550132,,,+1 202 555 0131\n"  # phone4 = the first row's phone2
        "2025550131\n"  # phone1 = the first row's phone2
        "2025550133,,2025550133\n",  # its own number twice is not a duplicate
        encoding="utf-8",
    )
    done = run(upload_file(admin, "contacts", path, campaign, duplicate_policy="deny"))
    assert (done.accepted, done.duplicates) == (2, 2)
    reasons = {r["line"]: r["reason"] for r in report(admin, done)}
    assert set(reasons) == {"2", "3"}
    assert "one of its numbers appears on an earlier row" in reasons["2"]


def test_time_zone_and_region_columns_are_stored_and_checked(admin, campaign, tmp_path):
    """Columns 20 and 21 (after priority): the contact's own zone and region."""
    path = tmp_path / "where.csv"
    rows = [
        f"2025550131,,,,{EMPTY_PARAMS},,,America/Chicago,US-IL",
        f"2025550132,,,,{EMPTY_PARAMS},,3,,us-fl",
        f"2025550133,,,,{EMPTY_PARAMS},,,Nowhere/Land,",
        f"2025550134,,,,{EMPTY_PARAMS},,,,US-QQ",
        f"2025550135,,,,{EMPTY_PARAMS},,",
        f"2025550136,,,,{EMPTY_PARAMS},,,America/Chicago,US-IL,extra",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.accepted, done.rejected) == (3, 3)
    assert_balanced(done)
    stored = {
        phone: (zone, region, priority)
        for phone, zone, region, priority in db.session.execute(
            select(Contact.phone1, Contact.time_zone, Contact.region, Contact.priority)
        )
    }
    assert stored == {
        "2025550131": ("America/Chicago", "US-IL", 0),
        "2025550132": (None, "US-FL", 3),
        "2025550135": (None, None, 0),
    }
    reasons = {r["line"]: r["reason"] for r in report(admin, done)}
    assert reasons["3"].startswith("timeZone: must be an IANA time zone")
    assert reasons["4"] == "region: US-QQ is not a subdivision of US"
    assert "at most 21" in reasons["6"]
