"""UCCX final outcomes from db_cra's DialingList table.

db_cra is played by a table with DialingList's documented columns and storage
types (``dialers.uccx_results``, from the Cisco Unified CCX Database Schema Guide,
table "DialingList") in the test's backend. Rows are shaped like Cisco's: campaign
200 and phone 1000 from the Developer Guide's "Get List of Pending Contacts for
Campaign" example, dialinglistid 20779 from the CTI Protocol Developer Guide's
outbound example ("BADialedListID: 20779"), callstatus and callresult values from
the Schema Guide's lists.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    CallResultInbox,
    CiscoCampaign,
    Contact,
    ContactAttempt,
    utcnow,
)
from portal.services.dialers import build_dialer
from portal.services.dialers.uccx_results import DIALING_LIST, UccxDialingListReader
from portal.services.feed import results, watermarks
from tests.feed.support import add_contacts, make_campaign, make_strategy

SENT = datetime(2026, 3, 4, 15, 0, 0)  # when ECM imported the contacts (UTC)
NOW = SENT + timedelta(minutes=5)


def dialing_row(key: int, account: int, status: int, result: int, **more) -> dict:
    row = {
        "recordid": key,
        "dialinglistid": 20779 + key,
        "profileid": 1,
        "campaignid": 200,
        "createdatetime": SENT + timedelta(seconds=1),
        "accountnumber": str(account),
        "phone01": "1000",
        "gmtzonephone01": 0,
        "dstphone01": 0,
        "callstatus": status,
        "callresult": result,
        "callbackdatetime": None,
        "active": True,
    }
    row.update(more)
    return row


def dispatched(admin, count: int, zone: str = "UTC") -> list[int]:
    if db.session.scalar(select(CiscoCampaign).limit(1)) is None:
        # the Developer Guide's example campaign, as fetchCiscoCampaigns caches it
        db.session.add(
            CiscoCampaign(
                cisco_campaign_id="200", name="previewCampaign", fetched_at=utcnow()
            )
        )
        db.session.commit()
    campaign = make_campaign(
        admin, make_strategy(admin), ciscoCampaignId="200", timeZone=zone
    )
    ids = add_contacts(campaign, count)
    for contact in db.session.scalars(select(Contact).where(Contact.id.in_(ids))):
        contact.request_state, contact.request_time = 1, SENT
        contact.attempts_made = 1
    db.session.commit()
    return ids


def inbox() -> dict[int, tuple[int, datetime | None]]:
    db.session.expire_all()
    return {
        row.contact_id: (row.call_result, row.callback_at)
        for row in db.session.scalars(select(CallResultInbox))
    }


def test_finished_rows_become_results_and_the_rest_wait(ctx, admin, hds):
    url, engine = hds
    a, b, c, d, e, f = dispatched(admin, 6, zone="America/New_York")
    # db_cra's times are UTC (Schema Guide, "Database Table Details"): no
    # conversion from the New York campaign's zone
    asked = datetime(2026, 3, 5, 21, 30)
    with engine.begin() as conn:
        conn.execute(
            DIALING_LIST.insert(),
            [
                dialing_row(1, a, 3, 1),  # Closed, Voice
                dialing_row(2, b, 5, 15),  # Max Calls, Ring No Answer
                dialing_row(3, c, 4, 8, callbackdatetime=asked),  # Callback
                dialing_row(4, d, 1, 0),  # Pending: UCCX not done yet
                dialing_row(  # an earlier dispatch's record, closed busy
                    5, e, 3, 11, createdatetime=SENT - timedelta(hours=1)
                ),
                dialing_row(6, a, 3, 11, campaignid=201),  # another campaign's
                dialing_row(7, f, 3, 1, active=False),  # contacts deleted in UCCX
            ],
        )
    adapter = SimpleNamespace(outcome_source=UccxDialingListReader(url))
    errors: list[str] = []
    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 3
    assert inbox() == {
        a: (10, None),
        b: (8, None),
        c: (14, datetime(2026, 3, 5, 21, 30)),
    }
    raw = db.session.scalar(
        select(CallResultInbox.raw).where(CallResultInbox.contact_id == b)
    )
    assert raw == "UCCX callstatus=5 callresult=15 dialinglistid=20781"

    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 3  # polled again
    applied = results.apply_inbox(NOW)
    assert applied["applied"] == 3 and applied["stale"] == 3  # each applied once
    db.session.expire_all()
    states = {
        i: (c_.request_state, c_.call_result)
        for i, c_ in ((i, db.session.get(Contact, i)) for i in (a, b, c, d, e))
    }
    assert states[a] == (2, 10) and states[c] == (0, 14)
    assert states[d] == (1, 0) and states[e] == (1, 0)  # still dispatched
    assert db.session.get(Contact, c).callback_at == datetime(2026, 3, 5, 21, 30)
    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 0


def test_a_newer_import_of_the_same_account_is_the_one_read(ctx, admin, hds):
    url, engine = hds
    (a,) = dispatched(admin, 1)
    with engine.begin() as conn:
        conn.execute(
            DIALING_LIST.insert(),
            [dialing_row(1, a, 3, 11), dialing_row(2, a, 1, 0)],  # closed, then new
        )
    reader = UccxDialingListReader(url)
    assert reader.final_results({"200": {a: SENT}}) == []


def test_an_unreachable_db_cra_is_a_feed_error_not_a_crash(ctx, admin, tmp_path):
    (a,) = dispatched(admin, 1)
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'db_cra.sqlite3'}"
    adapter = SimpleNamespace(outcome_source=UccxDialingListReader(missing))
    errors: list[str] = []
    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 0
    assert any("DialingList" in e for e in errors)


def test_the_uccx_dialer_reads_db_cra_when_the_url_is_set(hds):
    url, _ = hds
    config = {
        "ECM_UCCX_URL": "https://uccx.example.com",
        "ECM_UCCX_USER": "administrator@example.com",
        "ECM_UCCX_PASSWORD": "secret",
        "ECM_UCCX_RESULTS_URL": url,
    }
    dialer = build_dialer("uccx", {}, config)
    assert isinstance(dialer.outcome_source, UccxDialingListReader)
    del config["ECM_UCCX_RESULTS_URL"]
    assert build_dialer("uccx", {}, config).outcome_source is None


def test_a_row_already_applied_is_not_applied_to_the_next_dispatch(ctx, admin, hds):
    """Re-dispatched within the second of its closed row, before UCCX has imported
    the new one: the old row still looks like this dispatch's (createdatetime is
    whole seconds), but its dialinglistid is in the contact's attempt history."""
    url, engine = hds
    (a,) = dispatched(admin, 1)
    first = SENT.replace(microsecond=200_000)
    contact = db.session.get(Contact, a)
    contact.request_time = first
    db.session.commit()
    with engine.begin() as conn:  # imported and closed busy within the second
        conn.execute(
            DIALING_LIST.insert(), [dialing_row(1, a, 3, 11, createdatetime=SENT)]
        )
    adapter = SimpleNamespace(outcome_source=UccxDialingListReader(url))
    errors: list[str] = []
    read_at = SENT.replace(microsecond=500_000)
    assert watermarks.pull_dialer_results(adapter, read_at, errors) == 1
    assert results.apply_inbox(read_at)["applied"] == 1
    # the strategy's retry is due at once; the feed dispatches the contact again
    again = SENT.replace(microsecond=800_000)
    db.session.expire_all()
    contact = db.session.get(Contact, a)
    contact.request_state, contact.request_time = 1, again
    contact.attempts_made += 1
    db.session.commit()

    assert watermarks.pull_dialer_results(adapter, again, errors) == 0
    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 0
    assert results.apply_inbox(NOW) == {"applied": 0, "stale": 0}
    db.session.expire_all()
    assert db.session.get(Contact, a).request_state == 1  # waits for its own row

    with engine.begin() as conn:  # UCCX imports the new dispatch and closes it
        conn.execute(
            DIALING_LIST.insert(), [dialing_row(2, a, 3, 1, createdatetime=SENT)]
        )
    assert watermarks.pull_dialer_results(adapter, NOW, errors) == 1
    assert results.apply_inbox(NOW)["applied"] == 1
    attempts = db.session.scalars(
        select(ContactAttempt.raw_code)
        .where(ContactAttempt.contact_id == a)
        .order_by(ContactAttempt.id)
    ).all()
    assert attempts == [
        "UCCX callstatus=3 callresult=11 dialinglistid=20780",
        "UCCX callstatus=3 callresult=1 dialinglistid=20781",
    ]
    assert db.session.get(Contact, a).request_state == 2
    assert errors == []
