"""Several worker processes ticking at once never dial a contact twice.

PostgreSQL is the multi-machine mode (FOR UPDATE SKIP LOCKED); on SQLite the same
test runs the processes on one host against one file (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from portal.extensions import db
from portal.models import CallResultInbox, Contact, utcnow
from portal.services import preferences
from tests.feed.support import add_contacts, make_campaign, make_strategy

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
CONTACTS = 20_000


def karachi(i: int) -> str:
    """Worker processes claim on the wall clock, so the numbers are of a region no
    regional calling hours limit (one zone, Asia/Karachi): US numbers would not be
    dialable while it is night in the US, and the test is about claims, not hours."""
    return f"+92300{i:07d}"


def _run_workers(url: str, files: list[Path]) -> None:
    start_at = time.time() + 2.5  # after every process has imported and connected
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.feed.tick_worker",
                url,
                str(path),
                str(start_at),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "ECM_START_WORKER": "0"},
        )
        for path in files
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-3000:]


def _dials(files: list[Path]) -> list[tuple[int, int, int]]:
    rows = []
    for path in files:
        if path.exists():
            for line in path.read_text().splitlines():
                cid, attempt, pid = (int(x) for x in line.split(","))
                rows.append((cid, attempt, pid))
    return rows


@pytest.mark.postgres
@pytest.mark.slow
def test_workers_on_several_processes_dispatch_each_contact_once(
    backend, admin, app, tmp_path
):
    # SQLite: several processes on one host share the file; BEGIN IMMEDIATE serialises
    strategy = make_strategy(
        admin,
        [
            {"retryMap": [{"call_result": 9, "attempt_number": 2, "delay": 0}]},
            {"phone": "2"},
        ],
        max_attempts=2,
    )
    # open all day: the default window ends at 23:59, and its last minute in
    # Karachi (18:59 UTC) once left contacts undialed in CI
    day = {"startTime": "00:00", "endTime": "00:00"}
    first = make_campaign(admin, strategy, name="A", **day)
    second = make_campaign(admin, strategy, name="B", type=1, **day)
    past = utcnow() - timedelta(hours=1)
    ids = add_contacts(first, CONTACTS // 2, dial_time=past, phone=karachi)
    ids += add_contacts(second, CONTACTS // 2, dial_time=past, phone=karachi)
    preferences.save_preferences(admin, {"campaignBatchSize": 700, "ivrBatchSize": 300})
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    files = [tmp_path / f"round1-{n}.csv" for n in range(WORKERS)]
    _run_workers(url, files)
    dials = _dials(files)
    per_contact = Counter(cid for cid, _, _ in dials)
    assert len(per_contact) == CONTACTS and max(per_contact.values()) == 1
    assert {attempt for _, attempt, _ in dials} == {1}
    assert len({pid for _, _, pid in dials}) >= 2, "the workers did not overlap"
    db.session.expire_all()
    states = dict(
        db.session.execute(
            select(Contact.request_state, func.count()).group_by(Contact.request_state)
        ).all()
    )
    assert states == {1: CONTACTS}

    # every contact is busy (9, counted as an attempt): attempt 2 is due at once
    now = utcnow()
    rows = [
        {"contact_id": cid, "call_result": 9, "raw": "BUSY", "received_at": now}
        for cid in ids
    ]
    db.session.execute(insert(CallResultInbox.__table__), rows)
    db.session.commit()
    files = [tmp_path / f"round2-{n}.csv" for n in range(WORKERS)]
    _run_workers(url, files)
    dials = _dials(files)
    per_contact = Counter(cid for cid, _, _ in dials)
    assert len(per_contact) == CONTACTS and max(per_contact.values()) == 1
    assert {attempt for _, attempt, _ in dials} == {2}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CallResultInbox)) == 0
    made = dict(
        db.session.execute(
            select(Contact.attempts_made, func.count()).group_by(Contact.attempts_made)
        ).all()
    )
    assert made == {2: CONTACTS}
