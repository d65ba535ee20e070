"""UCCE results from a Dialer_Detail table: read once, after a durable mark.

The HDS is played by a table with Dialer_Detail's columns (dialers.dialer_detail,
from the Outbound Option Guide 12.6(2) "Dialer Detail Table" chapter) in the same
backend the test runs on: a separate SQLite file, or the PostgreSQL database.
Rows are shaped like Cisco's: CallResult from "CallResult Codes and Values",
CallStatusZone1 from "CallStatusZone Values" (C closed, R retry), DialingMode 1
("Predictive only").
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import CallResultInbox, Contact
from portal.services.dialers.base import DialerUnavailable
from portal.services.dialers.dialer_detail import (
    DIALER_DETAIL,
    PERSONAL_CALLBACK_LIST,
    DialerDetailReader,
)
from portal.services.feed import results, run_tick, watermarks
from portal.services.feed.plans import load_plans
from tests.fakes.cisco import FakeUcce
from tests.feed.support import T0, add_contacts, make_campaign, make_strategy

WHEN = datetime(2026, 3, 4, 15, 0, 5)


def cisco_row(key: float, account: str, result: int, when=WHEN, zone="C") -> dict:
    return {
        "RecoveryKey": key,
        "DateTime": when,
        "DBDateTime": when,
        "DialerID": 5000,
        "CampaignID": 5001,
        "QueryRuleID": 5002,
        "AccountNumber": account,
        "Phone": "2125550001",
        "PhoneIndex": 0,
        "CallResult": result,
        "CallResultDetail": 0,
        "CallStatusZone1": zone,
        "DialingMode": 1,
    }


def insert(engine, rows) -> None:
    with engine.begin() as conn:
        conn.execute(DIALER_DETAIL.insert(), rows)


def inbox() -> list[tuple[int, int]]:
    db.session.expire_all()
    return [
        (row.contact_id, row.call_result)
        for row in db.session.scalars(select(CallResultInbox).order_by("id"))
    ]


def our_contacts(admin, count: int, **campaign) -> list[int]:
    made = make_campaign(admin, make_strategy(admin), **campaign)
    return add_contacts(made, count)


def test_rows_are_read_once_and_the_mark_survives_a_restart(ctx, admin, hds):
    url, engine = hds
    a, b, c, d, e = our_contacts(admin, 5)
    insert(
        engine,
        [
            cisco_row(1001.0, str(a), 10),
            cisco_row(1002.0, str(b), 8, zone="R"),
            cisco_row(1003.0, str(c), 25),
        ],
    )
    reader = DialerDetailReader(url, batch=2)  # two batches
    assert watermarks.pull_into_inbox(reader, WHEN) == {"read": 3, "queued": 3}
    assert inbox() == [(a, 10), (b, 8), (c, 25)]
    raw = db.session.scalar(select(CallResultInbox.raw).limit(1))
    assert "CallStatusZone1=C" in raw and "CampaignID=5001" in raw
    assert watermarks.pull_into_inbox(reader, WHEN)["read"] == 0

    restarted = DialerDetailReader(url)  # a new worker: only the mark remembers
    assert watermarks.pull_into_inbox(restarted, WHEN)["read"] == 0
    later = WHEN + timedelta(seconds=1)
    insert(
        engine,
        [
            cisco_row(1004.0, str(d), 9, when=WHEN),
            cisco_row(1.0, str(e), 12, when=later),
        ],
    )
    assert watermarks.pull_into_inbox(restarted, WHEN)["queued"] == 2
    assert inbox()[-2:] == [(d, 9), (e, 12)]
    mark = watermarks.mark_of(restarted.name)
    assert (mark.db_datetime, mark.recovery_key, mark.rows_read) == (later, 1.0, 5)


def test_rows_that_are_not_ours_move_the_mark_but_queue_nothing(app_factory, hds):
    url, engine = hds
    with FakeUcce() as fake:
        app = app_factory(
            ECM_DIALER="ucce",
            ECM_UCCE_URL=fake.url,
            ECM_UCCE_USER=fake.username,
            ECM_UCCE_PASSWORD=fake.password,
        )
        with app.app_context():
            (mine,) = our_contacts(_admin(), 1, ciscoCampaignId="5001")
            other = cisco_row(3.0, str(mine), 10)
            other["CampaignID"] = 5002  # another Cisco campaign's account "mine"
            insert(
                engine,
                [
                    cisco_row(1.0, "ABCD1234", 10),  # Cisco's example account
                    cisco_row(2.0, None, 10),
                    other,
                    cisco_row(4.0, str(mine + 1000), 10),  # no such contact
                    cisco_row(5.0, str(mine), 8),  # ours, in campaign 5001
                ],
            )
            reader = DialerDetailReader(url)
            assert watermarks.pull_into_inbox(reader, WHEN) == {
                "read": 5,
                "queued": 1,
            }
            assert inbox() == [(mine, 8)]
            assert watermarks.mark_of(reader.name).recovery_key == 5.0


def test_an_unreachable_hds_raises_and_keeps_the_mark(ctx, tmp_path):
    reader = DialerDetailReader(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with pytest.raises(DialerUnavailable, match="Dialer_Detail"):
        watermarks.pull_into_inbox(reader, WHEN)
    mark = watermarks.mark_of(reader.name)
    assert mark.db_datetime is None and mark.rows_read == 0


def test_several_workers_at_once_queue_each_row_once(app, hds):
    url, engine = hds
    total = 3000
    with app.app_context():
        ids = our_contacts(_admin(), total)
    insert(engine, [cisco_row(float(i), str(i), 10) for i in ids])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                reader = DialerDetailReader(url, batch=250)
                while watermarks.pull_into_inbox(reader, WHEN)["read"]:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        ids = [cid for cid, _ in inbox()]
        assert len(ids) == total and len(set(ids)) == total
        assert watermarks.mark_of("ucce-dialer-detail").rows_read == total


def test_results_come_back_from_dialer_detail_through_the_feed(app_factory, hds):
    url, engine = hds
    with FakeUcce() as fake:
        app = app_factory(
            ECM_DIALER="ucce",
            ECM_UCCE_URL=fake.url,
            ECM_UCCE_USER=fake.username,
            ECM_UCCE_PASSWORD=fake.password,
            ECM_UCCE_RESULTS_URL=url,
        )
        with app.app_context():
            admin = _admin()
            strategy = make_strategy(
                admin,
                [{"retryMap": [{"call_result": 9, "attempt_number": 1, "delay": 0}]}],
            )
            campaign = make_campaign(admin, strategy, ciscoCampaignId="5001")
            ids = add_contacts(campaign, 3, dial_time=T0 - timedelta(minutes=1))
            assert run_tick(T0).dispatched == 3
            codes = {str(ids[0]): 10, str(ids[1]): 9, str(ids[2]): 18}
            fake.dial(lambda account, phone: codes[account], WHEN, engine)
            counts = run_tick(T0 + timedelta(seconds=10))
            assert counts.pulled == 3 and counts.applied == 3
            assert counts.dispatched == 1  # busy retries at once
            states = _states(ids)
            assert states[0] == (2, 10, 1)
            assert states[1] == (1, 9, 2)  # busy used an attempt
            assert states[2] == (2, 18, 0)  # agent rejected, no rule: not a dial
            assert run_tick(T0 + timedelta(seconds=20)).pulled == 0


def test_without_dialer_detail_results_come_from_the_import_status(
    app_factory, tmp_path
):
    with FakeUcce() as fake:
        app = app_factory(
            ECM_DIALER="ucce",
            ECM_UCCE_URL=fake.url,
            ECM_UCCE_USER=fake.username,
            ECM_UCCE_PASSWORD=fake.password,
            ECM_UCCE_RESULTS_URL=f"sqlite:///{tmp_path / 'gone' / 'hds.db'}",
        )
        with app.app_context():
            admin = _admin()
            campaign = make_campaign(
                admin, make_strategy(admin), ciscoCampaignId="5001"
            )
            ids = add_contacts(campaign, 4, dial_time=T0 - timedelta(minutes=1))
            assert run_tick(T0).dispatched == 4
            codes = dict(zip(map(str, ids), (10, 8, 12, 10), strict=True))
            fake.dial(lambda account, phone: codes[account], WHEN)  # no HDS rows
            early = run_tick(T0 + timedelta(seconds=30))
            assert early.applied == 0, "a fresh import may not be listed yet"
            assert any("Dialer_Detail" in e for e in early.errors)
            counts = run_tick(T0 + timedelta(minutes=2))
            assert counts.applied == 4
            assert [s[:2] for s in _states(ids)] == [(2, 10), (2, 8), (2, 12), (2, 10)]
            assert fake.requests_to("GET", "/campaign/5001/import")
            assert run_tick(T0 + timedelta(minutes=3)).applied == 0


@pytest.mark.parametrize(
    ("code", "state", "attempt_back", "why"),
    [
        (25, 0, 1, "not attempted"),
        (18, 0, 1, "retry"),
        (19, 2, 1, "no retry rule for this result"),
        (26, 5, 1, "on the dialer's DNC list"),
        # Cisco: 2, 8, 27 and 28 were dials on the network but are "Counted as
        # Attempt? No" in the CallResults table: no attempt of ours either
        (8, 0, 1, "retry"),
        (2, 2, 1, "no retry rule for this result"),
        (27, 2, 1, "no retry rule for this result"),
        (28, 2, 1, "no retry rule for this result"),
        (33, 2, 1, "no retry rule for this result"),
        (10, 2, 0, "connected"),
        (9, 0, 0, "retry"),
        (12, 2, 0, "no retry rule for this result"),
    ],
)
def test_cisco_callresults_table_decides_what_uses_an_attempt(
    ctx, admin, code, state, attempt_back, why
):
    strategy = make_strategy(
        admin,
        [
            {
                "retryMap": [
                    {"call_result": 8, "attempt_number": 1, "delay": 60},
                    {"call_result": 9, "attempt_number": 1, "delay": 60},
                    {"call_result": 18, "attempt_number": 1, "delay": 0},
                ]
            }
        ],
        max_attempts=2,
    )
    plan = load_plans([strategy.id])[strategy.id]
    first = plan.by_number[1]
    outcome = results.decide(plan, first.id, 1, 0, 1, code, T0)
    assert (outcome.state, outcome.refund, outcome.why) == (state, attempt_back, why)
    if code == 25:  # Cisco: "None, but returned to the pending state"
        assert outcome.attempt_number == 1 and outcome.dial_time > T0


def test_not_dialed_results_stop_giving_attempts_back_at_max_attempts(ctx, admin):
    strategy = make_strategy(
        admin,
        [{"retryMap": [{"call_result": 18, "attempt_number": 1, "delay": 0}]}],
        max_attempts=2,
    )
    plan = load_plans([strategy.id])[strategy.id]
    first = plan.by_number[1]
    given = results.decide(plan, first.id, 1, 0, 2, 18, T0, uncounted=1)
    assert given.refund == 1 and given.state == 0
    spent = results.decide(plan, first.id, 1, 0, 2, 18, T0, uncounted=2)
    assert spent.refund == 0 and spent.state == 3


def test_a_number_that_never_answers_is_dialed_at_most_twice_max_attempts(ctx, admin):
    """8 (no answer) uses no attempt, but the allowance ends the redials."""
    strategy = make_strategy(
        admin,
        [{"retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 0}]}],
        max_attempts=3,
    )
    plan = load_plans([strategy.id])[strategy.id]
    first = plan.by_number[1]
    attempts_made, uncounted, dials = 0, 0, 0
    while True:
        attempts_made += 1  # the claim spends one per dial
        dials += 1
        outcome = results.decide(
            plan, first.id, 1, 0, attempts_made, 8, T0, uncounted=uncounted
        )
        attempts_made -= outcome.refund
        uncounted += 1
        if outcome.state != 0:
            break
        assert dials < 100, "redialed for ever"
    assert (outcome.state, outcome.why) == (3, "max attempts reached")
    assert dials == 2 * plan.max_attempts
    assert attempts_made == plan.max_attempts


def _admin():
    from portal.models import User
    from portal.services import users

    users.ensure_admin("admin", is_default=True)
    return db.session.scalar(select(User).where(User.username == "admin"))


def _states(ids):
    db.session.expire_all()
    return [
        (c.request_state, c.call_result, c.attempts_made)
        for c in (db.session.get(Contact, i) for i in ids)
    ]


def test_dialer_detail_table_has_the_documented_key_columns():
    names = {c.name for c in DIALER_DETAIL.columns}
    assert {
        "RecoveryKey",
        "DBDateTime",
        "AccountNumber",
        "CallResult",
        "CallStatusZone1",
        "CallStatusZone2",
        "DialingMode",
    } <= names
    assert DIALER_DETAIL.c.AccountNumber.type.length == 30
    assert DIALER_DETAIL.c.Phone.type.length == 20


def personal_callback(list_id: int, account: str, when: datetime, key: int) -> dict:
    """A Personal_Callback_List row shaped as Cisco documents it.

    Outbound Option Guide 12.6(1), appendix "Personal Callback List Table", Table 1:
    DialingListID "Cross-references a record that has been moved from the
    contact_list", CampaignID, PeripheralID, AgentID, CampaignDN (length 12),
    Phone (20), AccountNumber (32), MaxAttempts, CallbackDateTime.
    """
    return {
        "PersonalCallbackListID": key,
        "DialingListID": list_id,
        "CampaignID": 5001,
        "PeripheralID": 5000,
        "AgentID": 5101,
        "CampaignDN": "7001",
        "Phone": "2125550001",
        "AccountNumber": account,
        "MaxAttempts": 3,
        "CallbackDateTime": when,
    }


def test_a_customer_callback_takes_its_time_from_the_personal_callback_list(
    ctx, admin, hds
):
    url, engine = hds
    a, b, c = our_contacts(admin, 3, timeZone="America/New_York")
    rows = [cisco_row(1.0, str(a), 14), cisco_row(2.0, str(b), 14)]
    rows += [cisco_row(3.0, str(c), 8)]
    for n, row in enumerate(rows):
        row["DialingListID"] = 900 + n
    insert(engine, rows)
    asked = datetime(2026, 3, 5, 16, 30)  # 16:30 in New York = 21:30 UTC
    with engine.begin() as conn:
        conn.execute(
            PERSONAL_CALLBACK_LIST.insert(),
            [
                personal_callback(900, str(a), asked - timedelta(hours=2), 1),
                personal_callback(900, str(a), asked, 2),  # rescheduled: newest wins
                personal_callback(903, str(b), asked, 3),  # another record's
            ],
        )
    reader = DialerDetailReader(url, callback_url=url)
    assert watermarks.pull_into_inbox(reader, WHEN)["queued"] == 3
    db.session.expire_all()
    times = {
        row.contact_id: row.callback_at
        for row in db.session.scalars(select(CallResultInbox))
    }
    assert times == {a: datetime(2026, 3, 5, 21, 30), b: None, c: None}

    for contact in db.session.scalars(select(Contact).where(Contact.id.in_([a, b]))):
        contact.request_state, contact.request_time = 1, WHEN - timedelta(minutes=1)
        contact.attempts_made = 1
    db.session.commit()
    results.apply_inbox(WHEN)
    db.session.expire_all()
    called_back = db.session.get(Contact, a)
    assert (called_back.request_state, called_back.call_result) == (0, 14)
    assert called_back.callback_at == datetime(2026, 3, 5, 21, 30)
    assert db.session.get(Contact, b).callback_at is None


def test_an_unreadable_personal_callback_list_costs_the_time_not_the_result(
    ctx, admin, hds, tmp_path
):
    url, engine = hds
    (a,) = our_contacts(admin, 1)
    row = cisco_row(1.0, str(a), 14)
    row["DialingListID"] = 900
    insert(engine, [row])
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'ba.sqlite3'}"
    reader = DialerDetailReader(url, callback_url=missing)
    assert watermarks.pull_into_inbox(reader, WHEN)["queued"] == 1
    assert inbox() == [(a, 14)]
