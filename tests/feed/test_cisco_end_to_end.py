"""500 contacts through each Cisco adapter to closure, the worker killed mid-run.

Worker processes run the feed for real (``tests.feed.cisco_worker``) against the
fakes on loopback; this process plays Cisco: it dials what was imported - once per
import - and writes each result where Cisco documents it (Dialer_Detail for UCCE
and the file drop; UCCX results arrive on ``POST /umm/ecm/callback/result``, since
reading UCCX's final outcomes is not built). Halfway through, the first worker is
killed with SIGKILL and a second one takes over. At the end every contact is
closed, Cisco never held two undialed imports of one contact (no double dial for
one attempt), and each dial's result was applied exactly once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact, ContactAttempt, User, utcnow
from portal.services import preferences, users
from portal.services.dialers.dialer_detail import DIALER_DETAIL
from portal.services.dialers.uccx_results import DIALING_LIST
from portal.services.enums import CISCO_NOT_DIALED
from portal.services.feed import watermarks
from tests.conftest import base_config
from tests.fakes.cisco import FakeUcce, FakeUccx
from tests.fakes.outbound_import import FakeOutboundImport
from tests.feed.support import add_contacts, make_campaign, make_strategy

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 500
RESTART_AFTER = 200  # closed contacts before the first worker is killed
DEADLINE_S = 240
NOT_A_DIAL = 18  # agent rejected a preview: Cisco's CallResults table
# How UCCX writes CiscoSide's outcomes into db_cra's DialingList (Cisco Unified CCX
# Database Schema Guide 12.5(1), "DialingList"): (callstatus, callresult). The
# campaign makes one attempt (FakeCampaign's maxDialAttempts 1, operations.md), so
# an unanswered or busy record ends "5 = Max Calls", the others "3 = Closed".
UCCX_OUTCOMES = {
    10: (3, 1),  # "1 = Voice. Customer answered and was connected to agent."
    9: (5, 11),  # "11 = Busy. Busy signal detected or marked busy by agent."
    8: (5, 15),  # "15 = Customer's phone timed out ... Ring No Answer (RNA)"
    NOT_A_DIAL: (3, 9),  # "9 = Skip/Reject. Agent skipped or rejected a preview call."
}


class CiscoSide:
    """Deterministic call outcomes per account and dial, like a patient dialer."""

    def __init__(self) -> None:
        self.dials: Counter[str] = Counter()

    def result_for(self, account: str, phone: str | None) -> int:
        n, a = self.dials[account], int(account)
        self.dials[account] += 1
        if n == 0:
            if a % 4 == 0:
                return 8  # no answer: the strategy moves to attempt 2
            if a % 4 == 1:
                return 9  # busy: attempt 1 again
            if a % 10 == 2:
                return NOT_A_DIAL  # rejected by the agent: attempt 1 again
        if n == 1 and a % 8 == 0:
            return 8  # no answer again, on attempt 2
        return 10


def strategy(admin):
    return make_strategy(
        admin,
        [
            {
                "retryMap": [
                    {"call_result": 8, "attempt_number": 2, "delay": 0},
                    {"call_result": 9, "attempt_number": 1, "delay": 0},
                    {"call_result": NOT_A_DIAL, "attempt_number": 1, "delay": 0},
                ]
            },
            {"retryMap": [{"call_result": 8, "attempt_number": 2, "delay": 0}]},
        ],
        max_attempts=3,
    )


def start_worker(tmp_path: Path, config: dict, n: int) -> subprocess.Popen:
    path = tmp_path / f"worker{n}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.feed.cisco_worker", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ECM_START_WORKER": "0"},
    )


def closed() -> int:
    db.session.expire_all()
    db.session.commit()
    return db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.request_state.in_((2, 3)))
    )


def drive(tmp_path, config, play_cisco) -> bool:
    """Run workers until every contact is closed; kill the first one halfway."""
    first = start_worker(tmp_path, config, 1)
    current, restarted = first, False
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            play_cisco()
            done = closed()
            if done == CONTACTS:
                break
            if not restarted and done >= RESTART_AFTER:
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=30)
                current, restarted = start_worker(tmp_path, config, 2), True
            if current.poll() is not None:
                pytest.fail(current.stderr.read().decode()[-3000:])
            time.sleep(0.1)
    finally:
        Path(config["STOP_FILE"]).write_text("stop")
        for proc in (first, current):
            if proc.poll() is None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    assert closed() == CONTACTS, f"only {closed()} of {CONTACTS} closed"
    assert first.returncode == -signal.SIGKILL
    assert current.returncode == 0, current.stderr.read().decode()[-3000:]
    return restarted


def check_every_dial_applied_once(cisco: CiscoSide, ids: list[int]) -> None:
    db.session.expire_all()
    applied = Counter(
        db.session.scalars(
            select(ContactAttempt.contact_id).where(ContactAttempt.contact_id.in_(ids))
        )
    )
    assert {str(k): v for k, v in applied.items()} == dict(cisco.dials)
    not_counted = Counter(
        db.session.scalars(
            select(ContactAttempt.contact_id).where(
                ContactAttempt.contact_id.in_(ids),
                ContactAttempt.call_result.in_(CISCO_NOT_DIALED),
            )
        )
    )
    for contact in db.session.scalars(select(Contact).where(Contact.id.in_(ids))):
        assert (contact.request_state, contact.call_result) == (2, 10)
        dials = cisco.dials[str(contact.id)]
        # 8 and 18 are "Counted as Attempt? No" (Cisco's CallResults table); no
        # contact here has more of them than its allowance (maxAttempts 3)
        free = not_counted[contact.id]
        assert contact.attempts_made == dials - free, contact.id


def setup_campaign(cisco_campaign_id: str, **prefs) -> list[int]:
    users.ensure_admin("admin", is_default=True)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    preferences.save_preferences(admin, {"campaignBatchSize": 100, **prefs})
    campaign = make_campaign(
        admin, strategy(admin), ciscoCampaignId=cisco_campaign_id, responseTimeout=10
    )
    return add_contacts(campaign, CONTACTS, dial_time=utcnow() - timedelta(minutes=1))


def worker_config(app, tmp_path, **dialer) -> dict:
    # the app's URL: tests.conftest imported again here has its own temp folder
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], **dialer)
    config["STOP_FILE"] = str(tmp_path / "stop")
    return config


def test_ucce_500_contacts_to_closure_across_a_worker_restart(
    app_factory, backend, tmp_path, hds
):
    url, engine = hds
    cisco = CiscoSide()
    with FakeUcce() as fake:
        dialer = {
            "ECM_DIALER": "ucce",
            "ECM_UCCE_URL": fake.url,
            "ECM_UCCE_USER": fake.username,
            "ECM_UCCE_PASSWORD": fake.password,
            "ECM_UCCE_RESULTS_URL": url,
        }
        app = app_factory(**dialer)
        with app.app_context():
            ids = setup_campaign("5001")
            assert drive(
                tmp_path,
                worker_config(app, tmp_path, **dialer),
                lambda: fake.dial(cisco.result_for, utcnow(), engine),
            )
            assert fake.double_imports == []
            check_every_dial_applied_once(cisco, ids)
            with engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(DIALER_DETAIL))
                assert rows.scalar() == sum(cisco.dials.values())
            mark = watermarks.mark_of("ucce-dialer-detail")
            assert mark.rows_read == sum(cisco.dials.values())


def test_file_drop_500_contacts_to_closure_across_a_worker_restart(
    app_factory, backend, tmp_path, hds
):
    url, engine = hds
    cisco = CiscoSide()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "campaigns.json").write_text(
        '[{"ciscoCampaignId": "5001", "ciscoCampaignName": "Coll"}]'
    )
    outbound = FakeOutboundImport(drop, delimiter="|")
    dialer = {
        "ECM_DIALER": "file",
        "ECM_UCCE_RESULTS_URL": url,
        "ECM_CISCO_FILE_DELIMITER": "|",
    }
    app = app_factory(**dialer)

    def play() -> None:
        outbound.take_files()
        outbound.dial(cisco.result_for, utcnow(), engine)

    with app.app_context():
        ids = setup_campaign("5001", filePath=str(drop))
        assert drive(tmp_path, worker_config(app, tmp_path, **dialer), play)
        assert outbound.problems == [] and outbound.double_imports == []
        check_every_dial_applied_once(cisco, ids)


@pytest.mark.parametrize("import_lag", [0.0, 0.3], ids=["import", "lagged"])
def test_uccx_500_contacts_to_closure_across_a_worker_restart(
    app_factory, backend, tmp_path, hds, import_lag
):
    """Results only through db_cra's DialingList. "lagged": UCCX writes an
    import's rows 0.3 s after answering the POST, so a contact dispatched again
    within the second of its closed row is read before its new row exists."""
    url, engine = hds
    cisco = CiscoSide()

    def outcome(account: str, phone: str) -> tuple[int, int]:
        return UCCX_OUTCOMES[cisco.result_for(account, phone)]

    with FakeUccx(dialing_list=engine) as fake:
        fake.import_lag = import_lag
        dialer = {
            "ECM_DIALER": "uccx",
            "ECM_UCCX_URL": fake.url,
            "ECM_UCCX_USER": fake.username,
            "ECM_UCCX_PASSWORD": fake.password,
            "ECM_UCCX_RESULTS_URL": url,
        }
        app = app_factory(**dialer)
        with app.app_context():
            ids = setup_campaign("200")
            assert drive(
                tmp_path,
                worker_config(app, tmp_path, **dialer),
                lambda: fake.dial(outcome),
            )
            assert fake.double_imports == [] and fake.problems == []
            check_every_dial_applied_once(cisco, ids)
            check_dialing_list(engine, cisco, ids)


def check_dialing_list(engine, cisco: CiscoSide, ids: list[int]) -> None:  # noqa: ANN001
    """One DialingList row per dial, each closed, and each applied once, to its
    own contact, with its own outcome: the attempts name exactly UCCX's rows."""
    t = DIALING_LIST.c
    with engine.connect() as conn:
        written = {
            row.dialinglistid: row
            for row in conn.execute(
                select(t.dialinglistid, t.accountnumber, t.callstatus, t.callresult)
            )
        }
    assert Counter(row.accountnumber for row in written.values()) == cisco.dials
    db.session.expire_all()
    attempts = db.session.execute(
        select(
            ContactAttempt.contact_id,
            ContactAttempt.call_result,
            ContactAttempt.raw_code,
        ).where(ContactAttempt.contact_id.in_(ids))
    ).all()
    applied = Counter(
        int(re.search(r"dialinglistid=(\d+)", a.raw_code).group(1)) for a in attempts
    )
    assert applied.keys() == written.keys() and set(applied.values()) == {1}
    for a in attempts:
        row = written[int(re.search(r"dialinglistid=(\d+)", a.raw_code).group(1))]
        assert row.accountnumber == str(a.contact_id)
        assert (row.callstatus, row.callresult) == UCCX_OUTCOMES[a.call_result]
