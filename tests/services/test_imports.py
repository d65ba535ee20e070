"""The bulk import service on real CSV files: rules, encodings, counts, resume."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import Contact, DncEntry, Upload, UploadError
from portal.services import contacts, dnc, uploads
from portal.services.enums import BLOCKED_DNC, PENDING, RESULT_ON_DNC
from portal.services.errors import NotFound, ValidationFailed
from portal.services.uploads import csv_source
from tests.services.upload_files import (
    BAD_KINDS,
    BAD_REASONS,
    make_campaign,
    write_contacts_csv,
)


def upload_file(admin, kind, path, campaign=None, **options):
    with open(path, "rb") as handle:
        return uploads.store_upload(
            admin,
            kind,
            handle,
            path.name,
            campaign_id=campaign.id if campaign else None,
            **options,
        )


def run(upload) -> Upload:
    result = uploads.run_import(upload.id)
    assert result["state"] == "done", result
    db.session.expire_all()
    return db.session.get(Upload, upload.id)


def report(admin, upload) -> list[dict[str, str]]:
    text_ = "".join(uploads.error_report(admin, upload))
    return list(csv.DictReader(io.StringIO(text_)))


def assert_balanced(upload: Upload) -> None:
    assert upload.rows_read == upload.accepted + upload.rejected + upload.duplicates
    errors = db.session.scalar(
        select(func.count())
        .select_from(UploadError)
        .where(UploadError.upload_id == upload.id)
    )
    assert errors == upload.rejected + upload.duplicates


@pytest.fixture
def campaign(admin):
    return make_campaign(admin, time_zone="America/New_York")


def load_dnc(admin, keys):
    for key in keys:
        dnc.add_entry(admin, {"primaryNumber": key})


def test_happy_path_with_every_kind_of_bad_row(admin, campaign, tmp_path):
    info = write_contacts_csv(tmp_path / "contacts.csv", 140, bad_every=5, dnc_every=10)
    load_dnc(admin, info.dnc_keys)
    upload = upload_file(admin, "contacts", info.path, campaign)
    assert upload.state == "queued" and upload.job_id == f"import-{upload.id}"
    done = run(upload)
    assert (done.rows_read, done.accepted, done.rejected, done.dnc_flagged) == (
        140,
        info.accepted,
        info.rejected,
        info.dnc_flagged,
    )
    assert done.duplicates == 0 and done.rows_total == 140
    assert_balanced(done)
    assert uploads.percent(done) == 100 and done.bytes_done == done.size_bytes
    rows = report(admin, done)
    assert [int(r["line"]) for r in rows] == sorted(info.bad_lines)
    assert {info.bad_lines[int(r["line"])] for r in rows} == set(BAD_KINDS)
    for r in rows:
        assert r["reason"].startswith(BAD_REASONS[info.bad_lines[int(r["line"])]]), r
        assert r["row"]
    stored = db.session.scalars(
        select(Contact).where(Contact.upload_id == done.id).order_by(Contact.row_number)
    ).all()
    assert len(stored) == info.accepted
    assert not {c.row_number for c in stored} & set(info.bad_lines)
    first = stored[0]
    assert first.phone1.lstrip("+").isdigit() and first.match_key.startswith("+1")
    assert first.business_param1 == "Name 0" and first.business_param2 == "ref-0"
    assert first.attempt_number == 1 and first.campaign_id == campaign.id
    # 09:30 in New York (EST in January) is 14:30 UTC
    assert first.dial_time == datetime(2030, 1, 2, 14, 30)
    blocked = [c for c in stored if c.match_key in set(info.dnc_keys)]
    assert len(blocked) == info.dnc_flagged
    assert {(c.request_state, c.call_result) for c in blocked} == {
        (BLOCKED_DNC, RESULT_ON_DNC)
    }
    others = {c.request_state for c in stored if c.match_key not in set(info.dnc_keys)}
    assert others == {PENDING}


def test_csv_rows_follow_the_single_contact_rule(admin, campaign, tmp_path):
    """Whatever insertCallback refuses, the CSV refuses with the same reason."""
    samples = [
        ["2025550143"],
        ["+44 20 7946 0958", "", "", "", "", "a"],
        ["202-555-01x3"],
        ["12"],
        ["", "2025550100"],
        ["2025550199"] + [""] * 16 + ["2030-13-01 10:00:00"],
        ["2025550198", "+", "", "", "", "p"],
        ["  2025550197  ", " "],
    ]
    path = tmp_path / "rule.csv"
    path.write_text("\n".join(",".join(s) for s in samples) + "\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    reasons = {int(r["line"]): r["reason"] for r in report(admin, done)}
    for line, cells in enumerate(samples, start=1):
        fields = dict(zip(uploads.CONTACT_FIELDS, cells, strict=False))
        data = {"campaignId": campaign.id, **{k: v for k, v in fields.items()}}
        try:
            contacts.insert_contact(admin, data)
            assert line not in reasons, (line, reasons.get(line))
        except ValidationFailed as exc:
            expected = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            assert reasons[line] == expected


@pytest.mark.parametrize("with_header", [True, False])
def test_header_row_is_detected(admin, campaign, tmp_path, with_header):
    info = write_contacts_csv(tmp_path / "h.csv", 30, header=with_header, bad_every=0)
    done = run(upload_file(admin, "contacts", info.path, campaign))
    assert (done.rows_read, done.accepted, done.rejected) == (30, 30, 0)
    first = db.session.scalar(
        select(func.min(Contact.row_number)).where(Contact.upload_id == done.id)
    )
    assert first == (2 if with_header else 1)


def test_bom_semicolons_and_cp1252(admin, campaign, tmp_path):
    bom = write_contacts_csv(
        tmp_path / "bom.csv", 20, header=True, bom=True, delimiter=";"
    )
    done = run(upload_file(admin, "contacts", bom.path, campaign))
    assert (done.rows_read, done.accepted, done.rejected) == (
        20,
        bom.accepted,
        bom.rejected,
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "phone1;phone2;phone3;phone4;phone5;businessParam1\r\n"
        "2025550101;;;;;Müller & Söhne – Café\r\n"
        "2025550102;;;;;Zoë\r\n".encode("cp1252")
    )
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted) == (2, 2)
    names = db.session.scalars(
        select(Contact.business_param1)
        .where(Contact.upload_id == done.id)
        .order_by(Contact.row_number)
    ).all()
    assert names == ["Müller & Söhne – Café", "Zoë"]


def test_mixed_encodings_line_by_line(admin, campaign, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "\ufeff2025550111,,,,,Straße\n".encode()
        + "2025550112,,,,,Garçon\n".encode("cp1252")
        + b"2025550113,,,,,\x81\x8d odd bytes\n"
    )
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted) == (3, 3)
    names = db.session.scalars(
        select(Contact.business_param1)
        .where(Contact.upload_id == done.id)
        .order_by(Contact.row_number)
    ).all()
    assert names[:2] == ["Straße", "Garçon"] and names[2].endswith("odd bytes")


def test_blank_lines_are_not_rows_but_keep_line_numbers(admin, campaign, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("2025550121\n\n,,,\n   \nabc\n2025550122\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted, done.rejected) == (3, 2, 1)
    assert [(r["line"], r["reason"]) for r in report(admin, done)] == [
        ("5", "phone1: has letters")
    ]


def test_empty_and_binary_files_are_refused_at_upload(admin, campaign, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationFailed) as exc:
        upload_file(admin, "contacts", empty, campaign)
    assert exc.value.fields == {"file": "is empty"}
    binary = tmp_path / "garbage.xlsx"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 50)
    with pytest.raises(ValidationFailed) as exc:
        upload_file(admin, "contacts", binary, campaign)
    assert "not a CSV text file" in exc.value.fields["file"]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("phone1\r\n2025550101\r\n".encode("utf-16"))
    with pytest.raises(ValidationFailed):
        upload_file(admin, "dnc", utf16)
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert not list((tmp_path.parent).glob("never-there"))


def test_header_only_file_finishes_with_no_rows(admin, campaign, tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("phone1,phone2\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.state, done.rows_read, done.accepted, done.rows_total) == (
        "done",
        0,
        0,
        0,
    )


def test_garbage_text_never_crashes_and_every_row_is_reported(
    admin, campaign, tmp_path
):
    import random

    rng = random.Random(3)
    lines = []
    for _ in range(300):
        size = rng.randrange(1, 200)
        raw = bytes(rng.choice(range(1, 256)) for _ in range(size)).replace(b"\n", b" ")
        lines.append(raw)
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\n".join(lines) + b'\n"unterminated, quote\n2025550131\n')
    done = run(upload_file(admin, "contacts", path, campaign))
    assert done.state == "done"
    assert_balanced(done)
    assert done.rows_read > 0 and done.rejected > 0


def test_overlong_line_is_rejected_not_loaded(admin, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_source, "MAX_LINE_BYTES", 1024)
    path = tmp_path / "long.csv"
    path.write_text("2025550141\n" + "9" * 5000 + "\n2025550142\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted, done.rejected) == (3, 2, 1)
    assert report(admin, done)[0]["reason"] == "line is longer than 1024 bytes"
    assert report(admin, done)[0]["line"] == "2"


def test_deny_duplicates_against_open_contacts_and_within_the_file(
    admin, campaign, tmp_path
):
    contacts.insert_contact(
        admin, {"campaignId": campaign.id, "phone1": "(202) 555-0150"}
    )
    path = tmp_path / "dups.csv"
    path.write_text(
        "2025550150\n2025550151\n+1 202 555 0151\n2025550152\n202.555.0152\n",
        encoding="utf-8",
    )
    done = run(upload_file(admin, "contacts", path, campaign, duplicate_policy="deny"))
    assert (done.rows_read, done.accepted, done.duplicates, done.rejected) == (
        5,
        2,
        3,
        0,
    )
    assert_balanced(done)
    reasons = {r["line"]: r["reason"] for r in report(admin, done)}
    assert reasons["1"].startswith("duplicate: phone1 already has an open contact")
    assert set(reasons) == {"1", "3", "5"}
    again = tmp_path / "allow.csv"
    again.write_text("2025550150\n2025550150\n", encoding="utf-8")
    allowed = run(upload_file(admin, "contacts", again, campaign))
    assert (allowed.accepted, allowed.duplicates) == (2, 0)


def test_deny_policy_is_validated(admin, campaign, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("2025550150\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        upload_file(admin, "contacts", path, campaign, duplicate_policy="maybe")
    assert exc.value.fields == {"duplicateCallbacks": "must be allow or deny"}
    with pytest.raises(NotFound):
        uploads.store_upload(
            admin, "contacts", io.BytesIO(b"1\n"), "x.csv", campaign_id=999
        )


def test_same_file_twice_is_refused_unless_forced(admin, campaign, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("2025550160\n", encoding="utf-8")
    first = upload_file(admin, "contacts", path, campaign)
    with pytest.raises(ValidationFailed) as exc:
        upload_file(admin, "contacts", path, campaign)
    assert f"upload {first.id}" in exc.value.fields["file"]
    assert "force=true" in exc.value.fields["file"]
    forced = upload_file(admin, "contacts", path, campaign, force="true")
    assert forced.forced and forced.id != first.id
    other = make_campaign(admin, name="Other")
    assert upload_file(admin, "contacts", path, other).campaign_id == other.id


def test_dnc_upload_counts_duplicates_and_blocks_pending_contacts(
    admin, campaign, tmp_path
):
    pending = contacts.insert_contact(
        admin, {"campaignId": campaign.id, "phone1": "2025550171"}
    )
    dnc.add_entry(admin, {"primaryNumber": "2025550172"})
    path = tmp_path / "dnc.csv"
    path.write_text(
        "number,name\n"
        "(202) 555-0171,Pending contact\n"
        "2025550172,Already listed\n"
        "2025550173,\n"
        "+1 202 555 0173,Twice in file\n"
        "not a number,x\n"
        "2025550174,a,b\n"
        f"2025550175,{'n' * 256}\n",
        encoding="utf-8",
    )
    done = run(upload_file(admin, "dnc", path))
    assert (done.rows_read, done.accepted, done.duplicates, done.rejected) == (
        7,
        2,
        2,
        3,
    )
    assert_balanced(done)
    assert done.dnc_flagged == 1  # the pending contact it blocked
    db.session.refresh(pending)
    assert (pending.request_state, pending.call_result) == (BLOCKED_DNC, RESULT_ON_DNC)
    entries = db.session.scalars(
        select(DncEntry).where(DncEntry.upload_id == done.id)
    ).all()
    assert sorted(e.match_key for e in entries) == ["+12025550171", "+12025550173"]
    assert {e.name for e in entries} == {"Pending contact", None}
    reasons = {r["line"]: r["reason"] for r in report(admin, done)}
    assert reasons == {
        "3": "duplicate: already on the DNC list",
        "5": "duplicate: number appears on an earlier row of this file",
        "6": "primaryNumber: has letters",
        "7": "has 3 columns; a DNC row has at most 2 (number, optional name)",
        "8": "name: is longer than 255 characters",
    }


def test_error_report_cells_are_formula_safe(admin, campaign, tmp_path):
    path = tmp_path / "formula.csv"
    path.write_text('=HYPERLINK("http://x"),,,,,=1+1\n', encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    row = report(admin, done)[0]
    assert row["row"].startswith("'=")


@pytest.mark.parametrize("chunk_rows", [40])
def test_killed_run_resumes_without_loss_or_duplicates(
    admin, campaign, tmp_path, app, chunk_rows
):
    app.config["ECM_IMPORT_CHUNK_ROWS"] = chunk_rows
    info = write_contacts_csv(tmp_path / "resume.csv", 300, bad_every=9, dnc_every=0)
    upload = upload_file(
        admin, "contacts", info.path, campaign, duplicate_policy="deny"
    )
    commits = []

    def die_after_two(values):
        commits.append(values["rows_read"])
        if len(commits) == 2:
            raise KeyboardInterrupt  # as abrupt as it gets inside a process

    with pytest.raises(KeyboardInterrupt):
        uploads.run_import(upload.id, progress=die_after_two)
    db.session.expire_all()
    half = db.session.get(Upload, upload.id)
    # on PostgreSQL the writer thread may have committed a few more chunks (it runs
    # ahead by at most its queue) before the import thread died
    assert half.state == "running" and commits[:2] == [chunk_rows, 2 * chunk_rows]
    assert half.rows_read % chunk_rows == 0 and 2 * chunk_rows <= half.rows_read < 300
    stored = db.session.scalar(
        select(func.count()).select_from(Contact).where(Contact.upload_id == upload.id)
    )
    assert stored == half.accepted
    done = run(upload)
    assert (done.rows_read, done.accepted, done.rejected, done.duplicates) == (
        300,
        info.accepted,
        info.rejected,
        0,
    )
    rows = (
        db.session.execute(
            select(Contact.row_number).where(Contact.upload_id == upload.id)
        )
        .scalars()
        .all()
    )
    assert len(rows) == len(set(rows)) == info.accepted
    assert [int(r["line"]) for r in report(admin, done)] == sorted(info.bad_lines)


def test_a_second_run_that_lost_the_race_stops(admin, campaign, tmp_path):
    info = write_contacts_csv(tmp_path / "race.csv", 20, bad_every=0)
    upload = upload_file(admin, "contacts", info.path, campaign)
    importer = uploads.Importer(upload)
    db.session.execute(
        text("UPDATE uploads SET rows_read = 5 WHERE id = :id"), {"id": upload.id}
    )
    db.session.commit()
    with pytest.raises(uploads.LostRace):
        importer.run()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_done_upload_is_not_imported_twice(admin, campaign, tmp_path):
    info = write_contacts_csv(tmp_path / "once.csv", 10, bad_every=0)
    done = run(upload_file(admin, "contacts", info.path, campaign))
    again = uploads.run_import(done.id)
    assert again["accepted"] == 10
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 10


def test_missing_file_fails_with_a_message(admin, campaign, tmp_path):
    info = write_contacts_csv(tmp_path / "gone.csv", 5, bad_every=0)
    upload = upload_file(admin, "contacts", info.path, campaign)
    from portal.services.uploads import storage

    storage.remove(upload.stored_path)
    result = uploads.run_import(upload.id)
    assert result["state"] == "failed"
    assert "missing" in db.session.get(Upload, upload.id).error_message


def test_viewer_cannot_upload_but_can_read(admin, viewer, campaign, tmp_path):
    from portal.services.errors import Forbidden

    path = tmp_path / "v.csv"
    path.write_text("2025550181\n", encoding="utf-8")
    with pytest.raises(Forbidden):
        upload_file(viewer, "contacts", path, campaign)
    upload = upload_file(admin, "contacts", path, campaign)
    assert uploads.get_upload(viewer, upload.id).id == upload.id
    assert [u.id for u in uploads.list_uploads(viewer, "contacts", campaign.id)] == [
        upload.id
    ]


def test_text_that_copy_treats_specially_is_stored_as_given(admin, campaign, tmp_path):
    path = tmp_path / "special.csv"
    path.write_text(
        '2025550191,,,,,\\N,"tab\there","two\nlines",C:\\path\\file\n'
        "2025550192,,,,,plain\n",
        encoding="utf-8",
    )
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted) == (2, 2)
    first = db.session.scalar(
        select(Contact).where(Contact.upload_id == done.id).order_by(Contact.row_number)
    )
    assert first.business_param1 == "\\N"
    assert first.business_param2 == "tab\there"
    assert first.business_param3 == "two\nlines"
    assert first.business_param4 == "C:\\path\\file"
    assert first.phone2 is None and first.row_number == 1


def test_nul_bytes_past_the_sniffed_head_reject_only_their_row(
    admin, campaign, tmp_path
):
    good = "".join(f"20255{i:05d},,,,,padding-{'x' * 40}\n" for i in range(2000))
    path = tmp_path / "nul.csv"
    path.write_bytes(good.encode() + b"2025559999,,,,,bad\x00byte\n2025559998\n")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted, done.rejected) == (2002, 2001, 1)
    assert report(admin, done)[0] == {
        "line": "2001",
        "reason": "row: must not contain NUL characters",
        "row": "2025559999,,,,,badbyte",
    }


def test_the_seed_example_row_is_data_not_a_header(admin, campaign, tmp_path):
    path = tmp_path / "seed.csv"
    path.write_text("0300948984,,,,,businessParam1\n", encoding="utf-8")
    done = run(upload_file(admin, "contacts", path, campaign))
    assert (done.rows_read, done.accepted) == (1, 1)
    headed = tmp_path / "headed.csv"
    headed.write_text(
        ",,,,,businessParam1,dialTime\n2025550101,,,,,x\n", encoding="utf-8"
    )
    done = run(upload_file(admin, "contacts", headed, campaign))
    assert (done.rows_read, done.accepted) == (1, 1)
