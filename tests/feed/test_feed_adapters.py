"""Each dialer adapter wired through the feed against its fake server on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, User, utcnow
from portal.services import preferences, users
from portal.services.feed import run_tick
from tests.fakes.cisco import FakeUcce, FakeUccx
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.feed.support import add_contacts, make_campaign, make_strategy

FAST = {
    "ECM_DIALER_BACKOFF": 0.01,
    "ECM_DIALER_TIMEOUT": 0.5,
    "ECM_DIALER_MAX_RETRIES": 2,
}


def _admin():
    users.ensure_admin("admin", is_default=True)
    return db.session.scalar(select(User).where(User.username == "admin"))


def _states(ids):
    db.session.expire_all()
    return [
        (c.request_state, c.attempts_made)
        for c in (db.session.get(Contact, i) for i in ids)
    ]


@pytest.fixture
def ucce():
    with FakeUcce() as fake:
        yield fake


def _ucce_app(app_factory, fake):
    return app_factory(
        ECM_DIALER="ucce",
        ECM_UCCE_URL=fake.url,
        ECM_UCCE_USER=fake.username,
        ECM_UCCE_PASSWORD=fake.password,
        **FAST,
    )


def test_ucce_backs_off_on_503_then_imports(app_factory, ucce):
    app = _ucce_app(app_factory, ucce)
    with app.app_context():
        admin = _admin()
        campaign = make_campaign(admin, make_strategy(admin), ciscoCampaignId="5001")
        ids = add_contacts(campaign, 25, dial_time=utcnow() - timedelta(minutes=1))
        preferences.save_preferences(admin, {"campaignBatchSize": 100})
        ucce.overload(2, retry_after=0)
        counts = run_tick()
        assert counts.dispatched == 25 and counts.returned == 0
        assert sorted(int(a) for a in ucce.imported_account_numbers("5001")) == ids
        assert len(ucce.requests_to("POST", "/import")) == 3  # two 503s, then accepted
        assert _states(ids) == [(1, 1)] * 25


def test_ucce_that_never_answers_returns_the_batch(app_factory, ucce):
    app = _ucce_app(app_factory, ucce)
    with app.app_context():
        admin = _admin()
        campaign = make_campaign(admin, make_strategy(admin), ciscoCampaignId="5001")
        ids = add_contacts(campaign, 5, dial_time=utcnow() - timedelta(minutes=1))
        ucce.hang_seconds = 3
        counts = run_tick()
        assert counts.dispatched == 0 and counts.returned == 5
        assert _states(ids) == [(0, 0)] * 5
        ucce.hang_seconds = 0
        ucce.overload(10)  # always overloaded: backs off, gives up, returns the batch
        assert run_tick().returned == 5
        assert _states(ids) == [(0, 0)] * 5
        ucce.overload(0)
        assert run_tick().dispatched == 5
        assert _states(ids) == [(1, 1)] * 5


def test_uccx_adds_contacts_and_results_come_back_over_the_api(app_factory, client):
    with FakeUccx() as fake:
        app = app_factory(
            ECM_DIALER="uccx",
            ECM_UCCX_URL=fake.url,
            ECM_UCCX_USER=fake.username,
            ECM_UCCX_PASSWORD=fake.password,
            **FAST,
        )
        with app.app_context():
            admin = _admin()
            campaign = make_campaign(admin, make_strategy(admin), ciscoCampaignId="200")
            ids = add_contacts(campaign, 4, dial_time=utcnow() - timedelta(minutes=1))
            assert run_tick().dispatched == 4
            rows = [row for batch in fake.imports for row in batch.rows]
            assert sorted(int(r["Account Number"]) for r in rows) == ids
        test_client = app.test_client()
        token = test_client.post(
            "/umm/api/login", json={"username": "admin", "password": "admin"}
        ).get_json()["token"]
        res = test_client.post(
            "/umm/ecm/callback/result",
            json={"id": ids[0], "callResult": 10, "raw": "UCCX:Connected"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert res.status_code == 200
        with app.app_context():
            assert run_tick(utcnow() + timedelta(seconds=1)).applied == 1
            assert _states(ids[:1]) == [(2, 1)]


def test_file_dialer_writes_contact_files_and_reads_dialer_detail(
    app_factory, tmp_path
):
    from sqlalchemy import create_engine

    from portal.services.dialers.dialer_detail import DIALER_DETAIL, metadata

    hds = f"sqlite:///{tmp_path / 'hds.sqlite3'}"
    metadata.create_all(create_engine(hds))
    app = app_factory(ECM_DIALER="file", ECM_UCCE_RESULTS_URL=hds)
    drop = tmp_path / "drop"
    with app.app_context():
        admin = _admin()
        preferences.save_preferences(
            admin, {"filePath": str(drop), "fileArchivePath": str(tmp_path / "archive")}
        )
        drop.mkdir()
        (drop / "campaigns.json").write_text(
            '[{"ciscoCampaignId": "5001", "ciscoCampaignName": "Coll"}]'
        )
        campaign = make_campaign(admin, make_strategy(admin), ciscoCampaignId="5001")
        ids = add_contacts(campaign, 3, dial_time=utcnow() - timedelta(minutes=1))
        assert run_tick().dispatched == 3
        (batch,) = list(drop.glob("ecm_5001_*.csv"))
        lines = batch.read_bytes().split(b"\r\n")
        assert lines[0].startswith(f"{ids[0]},,,1212555".encode()) and len(lines) == 4
        when = utcnow()
        with create_engine(hds).begin() as conn:
            conn.execute(
                DIALER_DETAIL.insert(),
                [
                    {
                        "RecoveryKey": 100.0 + n,
                        "DateTime": when,
                        "DBDateTime": when,
                        "DialerID": 1,
                        "AccountNumber": str(cid),
                        "CallResult": code,
                    }
                    for n, (cid, code) in enumerate(zip(ids, (10, 9, 25), strict=True))
                ],
            )
        counts = run_tick(utcnow() + timedelta(seconds=1))
        assert counts.applied == 3
        # 25 (returned unattempted) went back to pending with its attempt given
        # back; it is dialed again, still as its first attempt, a little later
        assert _states(ids) == [(2, 1), (2, 1), (0, 0)]
        assert counts.dispatched == 0
        assert run_tick(utcnow() + timedelta(minutes=6)).dispatched == 1
        assert _states(ids)[2] == (1, 1)
        assert len(list(drop.glob("ecm_5001_*.csv"))) == 2


def test_sms_webhook_gets_the_filled_template(app_factory):
    with FakeSmsGateway(token="t0k") as gateway:
        app = app_factory(
            ECM_SMS_GATEWAY="webhook",
            ECM_SMS_WEBHOOK_URL=gateway.webhook_url,
            ECM_SMS_WEBHOOK_TOKEN="t0k",
        )
        with app.app_context():
            admin = _admin()
            strategy = make_strategy(admin, [{"channel": 1}])
            campaign = make_campaign(
                admin,
                strategy,
                type=2,
                smsTemplate="Hello {businessParam1}, call {phone1}",
            )
            ids = add_contacts(campaign, 2, dial_time=utcnow() - timedelta(minutes=1))
            counts = run_tick()
            assert counts.dispatched == 2
            texts = sorted(m.text for m in gateway.messages)
            contacts = [db.session.get(Contact, i) for i in ids]
            assert texts == sorted(
                f"Hello {c.business_param1}, call {c.phone1}" for c in contacts
            )
            # accepted counts as delivered (100): completed by the same tick
            assert _states(ids) == [(2, 1), (2, 1)]
            gateway.overload(50)
            more = add_contacts(campaign, 1, dial_time=utcnow() - timedelta(minutes=1))
            assert run_tick().returned == 1
            assert _states(more) == [(0, 0)]
