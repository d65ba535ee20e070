"""Erasure leaves no trace of the number: every column of every table, every file.

The world holds the number everywhere the product can keep it: contacts (phone1 in
several formats, phone2 of someone else), their attempts and inbox results, a number
ruled out by a wrong-number result, an abandoned-call lockout, the default DNC list, a
named list, an opt-out, the stored upload file, its rejected-row report, the file
dialer's batch files and the audit trail. After the erasure a scan of all of it finds
the number nowhere, the contacts export finds it nowhere, and the erasure's own audit
row does not name it; a number kept as a hash is flagged when uploaded again.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditLog, Contact, ErasedNumber, Upload, utcnow
from portal.services import (
    dnc,
    dnc_lists,
    erasure,
    exports,
    optouts,
    preferences,
    uploads,
)
from portal.services.dialers import DialResult
from portal.services.dialers.file import FileDialer
from portal.services.feed import run_tick
from tests.feed.support import make_campaign
from tests.feed.support import make_strategy as strategy_with

NUMBER = "+12125550142"
DIGITS = "2125550142"
KEEP = "+13125550177"


def digits_hold_number(value) -> bool:
    """Does the value hold the number, formatting (spaces, brackets, dashes) ignored?"""
    return DIGITS in re.sub(r"[\s().\-]", "", str(value))


def traces_in_tables() -> list[str]:
    found = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in zip(table.columns, row, strict=True):
                    if value is not None and digits_hold_number(value):
                        found.append(f"{table.name}.{column.name}: {value!r}")
    return found


def traces_in_files(folders: list[Path]) -> list[str]:
    found = []
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                path = Path(root) / name
                for n, line in enumerate(path.read_text(errors="replace").splitlines()):
                    if digits_hold_number(line):
                        found.append(f"{path.name}:{n + 1}: {line}")
    return found


class Sms:
    name = "sms"

    def send(self, *args):
        raise AssertionError

    def collect_results(self):
        return []


def build_world(admin, tmp_path: Path) -> dict:
    drop = tmp_path / "dialer"
    drop.mkdir()
    preferences.save_preferences(
        admin, {"filePath": str(drop), "fileArchivePath": str(drop / "archive")}
    )
    retry = [{"call_result": 16, "attempt_number": 1, "delay": 0}]
    strategy = strategy_with(admin, [{"retryMap": retry}], max_attempts=4)
    campaign = make_campaign(admin, strategy, name="Erase")
    campaign.cisco_campaign_id = "5001"  # the file dialer writes per Cisco campaign
    db.session.commit()
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text(
        "phone1,phone2\n"
        f"{NUMBER},\n"
        "(212) 555-0142,+13125550101\n"
        f"{KEEP},{NUMBER}\n"
        f"{KEEP[:-1]}8,\n"
        f"212-555-0142,,,,,,,,,,,,,,,,,not a date\n",
        encoding="utf-8",
    )
    with open(csv_path, "rb") as handle:
        upload = uploads.store_upload(admin, "contacts", handle, "c.csv", campaign.id)
    assert uploads.run_import(upload.id)["state"] == "done"
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).rejected == 1
    dialer = FileDialer(drop)
    now = utcnow() + timedelta(days=1)  # a Wednesday midday in New York: lawful hours
    while now.weekday() != 2:
        now += timedelta(days=1)
    now = now.replace(hour=17, minute=0, second=0, microsecond=0)
    run_tick(now, dialer=dialer, sms=Sms())
    dispatched = list(
        db.session.scalars(select(Contact).where(Contact.request_state == 1))
    )
    results = [
        DialResult(c.id, 16 if c.phone1 == NUMBER else 23, "raw", None)
        for c in dispatched
    ]
    from portal.services.feed.results import store_results

    store_results(results, now + timedelta(seconds=1))
    run_tick(now + timedelta(seconds=2), dialer=dialer, sms=Sms())
    dnc.add_entry(admin, {"primaryNumber": "(212) 555-0142", "reason": "asked"})
    listed = dnc_lists.create_list(admin, {"name": "Named"})
    dnc_lists.add_entry(admin, listed.id, {"primaryNumber": DIGITS})
    optouts.record_opt_out(admin, {"number": NUMBER, "source": "sms STOP"})
    waiting = tmp_path / "later.csv"  # stored, its import not run yet
    waiting.write_text(f"(212) 555-0142,x\n+13125550199,{NUMBER}\n+13125550198\n")
    with open(waiting, "rb") as handle:
        queued = uploads.store_upload(admin, "contacts", handle, "l.csv", campaign.id)
    return {
        "campaign": campaign,
        "folders": [Path(imports_dir()), drop],
        "queued": queued.id,
    }


def imports_dir() -> str:
    from flask import current_app

    return current_app.config["ECM_UPLOAD_DIR"]


def test_erasure_leaves_no_trace(admin, api, tmp_path):
    world = build_world(admin, tmp_path)
    before = traces_in_tables()
    tables_before = {t.split(".")[0] for t in before}
    assert {
        "contacts",
        "contact_attempts",
        "contact_number_blocks",
        "number_lockouts",
        "dnc_entries",
        "dnc_list_entries",
        "opt_outs",
        "upload_errors",
        "audit_log",
    } <= tables_before, tables_before
    assert traces_in_files(world["folders"]), "the files held the number"
    res = api.post("/umm/ecm/privacy/erase", {"number": "212.555.0142"})
    assert res.status_code == 200, res.get_json()
    removed = res.get_json()["removed"]
    assert removed["contacts"] == 3 and removed["filesScrubbed"] == 2
    assert traces_in_tables() == [], "searched every column of every table"
    assert traces_in_files(world["folders"]) == [], "searched every stored file"
    _, rows = exports.campaign_contacts(admin, world["campaign"].id)
    assert not any(digits_hold_number(cell) for row in rows for cell in row)
    kept = [c.phone1 for c in db.session.scalars(select(Contact))]
    assert kept == ["+13125550178"], "only the number's contacts are gone"
    assert uploads.run_import(world["queued"])["state"] == "done"
    db.session.expire_all()
    later = db.session.get(Upload, world["queued"])
    assert (later.accepted, later.rejected) == (2, 1), "the blanked row is refused"
    assert traces_in_tables() == [], "the blanked file imports without the number"
    erase_row = db.session.scalar(select(AuditLog).where(AuditLog.action == "erase"))
    assert erase_row.entity == "privacy" and erase_row.changes["contacts"] == 3
    assert db.session.scalar(select(ErasedNumber.key_hash)) not in (None, DIGITS)
    print("erasure removed:", removed, "| traces left:", traces_in_tables())


def test_an_erased_number_uploaded_again_is_flagged(admin, tmp_path):
    campaign = make_campaign(admin, strategy_with(admin), name="Again")
    erasure.erase_number(admin, {"number": NUMBER})
    path = tmp_path / "again.csv"
    path.write_text(f"{NUMBER}\n(212) 555-0142\n{KEEP}\n")
    with open(path, "rb") as handle:
        upload = uploads.store_upload(admin, "contacts", handle, "a.csv", campaign.id)
    uploads.run_import(upload.id)
    db.session.expire_all()
    assert db.session.get(Upload, upload.id).dnc_flagged == 2


def test_erasure_without_keeping_the_hash_and_roles(admin, supervisor, api):
    from portal.services.errors import Forbidden

    try:
        erasure.erase_number(supervisor, {"number": NUMBER})
    except Forbidden:
        pass
    else:
        raise AssertionError("only administrators erase")
    erasure.erase_number(admin, {"number": NUMBER, "keepSuppressed": False})
    assert db.session.scalar(select(ErasedNumber)) is None
    res = api.post("/umm/ecm/privacy/erase", {"number": "not a number"})
    assert res.status_code == 406 and "number" in res.get_json()["fields"]
    res = api.post("/umm/ecm/privacy/erase", {"number": NUMBER, "extra": 1})
    assert res.status_code == 406


def test_flask_erase_number_command(app, admin):
    dnc.add_entry(admin, {"primaryNumber": NUMBER})
    result = app.test_cli_runner().invoke(args=["erase-number", "(212) 555-0142"])
    assert result.exit_code == 0, result.output
    assert "dncEntries 1" in result.output and DIGITS not in result.output
    assert traces_in_tables() == []
    bad = app.test_cli_runner().invoke(args=["erase-number", "abc"])
    assert bad.exit_code == 1 and "number" in bad.output
