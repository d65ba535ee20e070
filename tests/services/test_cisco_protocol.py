"""Each adapter speaks Cisco's documented protocol, and the fakes refuse the rest.

The fakes (tests/fakes/cisco.py) hold Cisco's rules as their own constants, with
the document beside each; these tests send what Cisco documents as invalid and
check the fake says no, then check the adapters never send it.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import CiscoCampaign, Contact, utcnow
from portal.services.dialers import DialerRejected, DialRequest, UcceDialer, UccxDialer
from portal.services.dialers.base import (
    NumberTooLong,
    cisco_import_csv,
    cisco_phone,
    time_zone_fields,
)
from portal.services.dialers.ucce import import_body
from portal.services.feed import run_tick
from tests.fakes import cisco as fake_rules
from tests.fakes.cisco import FakeCampaign, FakeUcce, FakeUccx
from tests.feed.support import add_contacts, make_campaign, make_strategy


def request(contact_id=1, number="+12125550001", zone=None, cisco="5001"):
    return DialRequest(
        contact_id=contact_id,
        campaign_id=1,
        cisco_campaign_id=cisco,
        number=number,
        channel=0,
        attempt_number=1,
        time_zone=zone,
    )


def post(server, path, body: str, user: str | None = None) -> tuple[int, str]:
    token = base64.b64encode(
        f"{user or server.username}:{server.password}".encode()
    ).decode()
    req = urllib.request.Request(
        server.url + path,
        data=body.encode(),
        method="POST",
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/xml"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def ucce():
    with FakeUcce() as server:
        yield server


@pytest.fixture
def uccx():
    with FakeUccx() as server:
        yield server


# --- UCCE Import API: what Cisco refuses ------------------------------------

IMPORT = "/unifiedconfig/config/campaign/5001/import"


@pytest.mark.parametrize(
    ("csv_text", "why"),
    [
        ("AccountNumber,Phone01,Email\n1,2125550001,a@b.c", "unknown column"),
        ("AccountNumber,Phone01\n1,+12125550001", "not 0-20 digits"),
        ("AccountNumber,Phone01\n1,123456789012345678901", "not 0-20 digits"),
        (f"AccountNumber,Phone01\n{'9' * 31},2125550001", "longer than 30"),
        ("AccountNumber,Phone01,DstObserved\n1,2125550001,true", "without Time"),
        ("AccountNumber,Phone01,TimeZoneBias\n1,2125550001,900", "not minutes"),
        ("AccountNumber,FirstName\n1,Ann", "need AccountNumber and a Phone"),
    ],
)
def test_fake_ucce_refuses_what_the_import_api_documents_as_invalid(
    ucce, csv_text, why
):
    status, body = post(ucce, IMPORT, import_body(csv_text))
    assert status == 400 and why in body, body
    assert ucce.imports == []


def test_fake_ucce_takes_cisco_own_example_create_request(ucce):
    # Developer Reference 15.0(1), "Import API", "Example Create Request"
    example = """<import>
    <fileContent>
        <![CDATA[
        AccountNumber,FirstName,LastName,Phone01,Phone02,TimeZoneBias,DstObserved
        6782,Henry,Martin,2225554444,2225556262,720,false
        3456,Michele,Smith,2225559999,2225551234,540,true
        4569,Walker,Evans,2225552000,2225557890,-600,true
        ]]>{cisco_trailing_space}
    </fileContent>
    <delimiter>,</delimiter>
</import>""".format(cisco_trailing_space=" ")
    assert post(ucce, IMPORT, example)[0] == 200
    assert ucce.imported_account_numbers() == ["6782", "3456", "4569"]


def test_fake_ucce_wants_a_pipe_or_comma_and_a_user_at_domain_login(ucce):
    body = import_body("AccountNumber;Phone01\n1;2", delimiter=";")
    assert post(ucce, IMPORT, body)[0] == 400
    ucce.username = "administrator"  # not an Active Directory UPN
    assert post(ucce, IMPORT, import_body("AccountNumber,Phone01\n1,2"))[0] == 401


def test_fake_ucce_answers_503_queue_at_capacity(ucce):
    ucce.overload(1)
    status, body = post(ucce, IMPORT, import_body("AccountNumber,Phone01\n1,2"))
    assert status == 503 and body == fake_rules.UCCE_QUEUE_FULL_MESSAGE


# --- UCCE adapter: what it sends -------------------------------------------


def test_ucce_sends_time_zone_bias_and_dst_observed_from_the_contact_zone(ucce):
    dialer = UcceDialer(ucce.url, ucce.username, ucce.password)
    dialer.dispatch(
        [
            request(1, zone="America/New_York"),
            request(2, "+919812345678", zone="Asia/Kolkata"),
            request(3, "+6421555001", zone="Pacific/Auckland"),
            request(4),
        ]
    )
    rows = ucce.imports[0].rows
    assert [(r["TimeZoneBias"], r["DstObserved"]) for r in rows] == [
        ("300", "true"),  # Windows bias: UTC-5 is +300, DST observed
        ("-330", "false"),
        ("-720", "true"),
        ("", ""),  # unknown: Cisco matches region prefixes (documented default)
    ]
    assert rows[1]["Phone01"] == "919812345678"


def test_time_zone_fields_stay_inside_ciscos_range():
    assert time_zone_fields("Pacific/Kiritimati") == ("", "")  # UTC+14 > -780
    assert time_zone_fields("Etc/GMT+12") == ("720", "false")
    assert time_zone_fields("No/Such_Zone") == ("", "")


def test_the_plus_is_replaced_by_the_configured_prefix_and_never_cut():
    assert cisco_phone("+12125550001") == "12125550001"
    assert cisco_phone("+12125550001", "00") == "0012125550001"
    assert cisco_phone("0800 123#4*5") == "0800123#4*5"
    with pytest.raises(NumberTooLong, match="at most 20"):
        cisco_phone("+" + "1" * 19, "00")
    with pytest.raises(NumberTooLong):
        cisco_import_csv([request(number="+" + "4" * 20, zone=None)], plus_prefix="0")


def test_a_campaign_made_outside_the_api_is_explained(sleepless_ucce):
    server = sleepless_ucce
    dialer = UcceDialer(server.url, server.username, server.password, max_retries=0)
    with pytest.raises(DialerRejected, match="Outbound Option Campaign tool"):
        dialer.dispatch([request(cisco="5009")])
    assert [c["ciscoCampaignId"] for c in dialer.list_campaigns()] == ["5001"]


@pytest.fixture
def sleepless_ucce():
    campaigns = [
        FakeCampaign("5001", "Api_Made", max_attempts=3),
        FakeCampaign("5009", "Tool_Made", made_with_api=False),
    ]
    with FakeUcce(campaigns=campaigns) as server:
        yield server


def test_ucce_reads_the_campaigns_retry_settings(sleepless_ucce):
    server = sleepless_ucce
    dialer = UcceDialer(server.url, server.username, server.password)
    assert dialer.retry_settings("5001") == {
        "maxAttempts": 3,
        "noAnswerDelay": 60,
        "busySignalDelay": 60,
    }
    assert dialer.list_campaigns()[0]["maxAttempts"] == "3"


# --- UCCX ------------------------------------------------------------------

CONTACTS = "/adminapi/campaign/200/contacts"


def uccx_body(name: str | None, header: str, ref="/adminapi/campaign/200") -> str:
    name_attr = f' name="{name}"' if name else ""
    return (
        f"<campaignContacts><campaign{name_attr}><refURL>https://x{ref}</refURL>"
        "</campaign><allowDuplicateContacts>true</allowDuplicateContacts>"
        f"<csvdata>{header}\n1,2125550001</csvdata></campaignContacts>"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (uccx_body(None, "Account Number,Phone1"), 400),  # nameUriPair: the name
        (uccx_body("Wrong", "Account Number,Phone1"), 400),
        (uccx_body("OBPreview", "Account Number,Phone9"), 400),  # unknown header
        (uccx_body("OBPreview", "Account Number,Phone2"), 400),  # Phone1 mandatory
        (uccx_body("OBPreview", "account number,PHONE1"), 202),  # case-insensitive
    ],
)
def test_fake_uccx_enforces_the_campaign_contacts_data_structure(uccx, body, status):
    assert post(uccx, CONTACTS, body)[0] == status


def test_fake_uccx_refuses_a_body_over_tomcats_3_mb(uccx):
    body = uccx_body("OBPreview", "Account Number,Phone1") + " " * (3 * 1024 * 1024)
    assert post(uccx, CONTACTS, body)[0] == 413


def test_uccx_names_the_campaign_from_the_cache_and_cuts_by_size(uccx):
    asked = []

    def names(campaign_id):
        asked.append(campaign_id)
        return {"200": "OBPreview"}.get(campaign_id)

    dialer = UccxDialer(
        uccx.url, uccx.username, uccx.password, names=names, max_body_bytes=2_000
    )
    dialer.dispatch([request(i, cisco="200") for i in range(1, 301)])
    assert asked == ["200"] and not uccx.requests_to("GET", "/adminapi/campaign")
    posts = uccx.requests_to("POST", CONTACTS)
    assert len(posts) > 1 and all(len(p.body) <= 2_000 for p in posts)
    assert sum(len(b.rows) for b in uccx.imports) == 300
    assert all(b.find("campaign").get("name") == "OBPreview" for b in uccx.bodies)


def test_uccx_import_failure_is_a_refusal_and_location_is_followed(uccx):
    dialer = UccxDialer(uccx.url, uccx.username, uccx.password, max_retries=0)
    uccx.location = True
    dialer.dispatch([request(1, cisco="200")])
    assert uccx.requests_to("GET", "/adminapi/campaign/200/contacts/status")
    uccx.fail_imports = 1
    with pytest.raises(DialerRejected, match="FAILURE"):
        dialer.dispatch([request(2, cisco="200")])


def test_a_uccx_import_failure_returns_the_batch_to_pending(app_factory):
    with FakeUccx() as fake:
        app = app_factory(
            ECM_DIALER="uccx",
            ECM_UCCX_URL=fake.url,
            ECM_UCCX_USER=fake.username,
            ECM_UCCX_PASSWORD=fake.password,
            ECM_DIALER_MAX_RETRIES=0,
        )
        with app.app_context():
            admin = _admin()
            campaign = make_campaign(admin, make_strategy(admin), ciscoCampaignId="200")
            ids = add_contacts(campaign, 3, dial_time=utcnow() - timedelta(minutes=1))
            assert db.session.scalar(select(CiscoCampaign.name).limit(1)) == (
                "OBPreview"
            )
            fake.fail_imports = 1
            counts = run_tick()
            assert counts.dispatched == 0 and counts.returned == 3
            db.session.expire_all()
            assert {db.session.get(Contact, i).attempts_made for i in ids} == {0}
            assert run_tick(utcnow() + timedelta(seconds=1)).dispatched == 3
            gets = fake.requests_to("GET", "/adminapi/campaign")
            assert len(gets) <= 1, "the name comes from the cached campaign table"


# --- intake ----------------------------------------------------------------


def test_a_number_cisco_cannot_hold_is_refused_at_intake_with_a_clear_406(
    app_factory,
):
    app = app_factory(ECM_DIALER="file", ECM_CISCO_PLUS_PREFIX="00")
    client = app.test_client()
    with app.app_context():
        admin = _admin()
        campaign = make_campaign(admin, make_strategy(admin))
        campaign_id = campaign.id
    token = client.post(
        "/umm/api/login", json={"username": "admin", "password": "admin"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    long_number = "+" + "4" * 19  # 19 digits: fine, but 21 with '00' for '+'
    res = client.post(
        "/umm/ecm/callback/insertCallback",
        json={"campaignId": campaign_id, "phone1": long_number},
        headers=headers,
    )
    assert res.status_code == 406
    reason = res.get_json()["fields"]["phone1"]
    assert "21 characters as Cisco dials it" in reason and "at most 20" in reason
    ok = client.post(
        "/umm/ecm/callback/insertCallback",
        json={"campaignId": campaign_id, "phone1": "+" + "4" * 18},
        headers=headers,
    )
    assert ok.status_code == 200


def _admin():
    from portal.models import User
    from portal.services import users

    users.ensure_admin("admin", is_default=True)
    return db.session.scalar(select(User).where(User.username == "admin"))


def test_time_zone_of_the_year_is_used_for_dst():
    winter = datetime(2026, 1, 10, tzinfo=UTC)
    assert time_zone_fields("Europe/London", winter) == ("0", "true")
    assert time_zone_fields("UTC", winter) == ("0", "false")


def test_the_dashboard_warns_when_cisco_would_retry_too(app_factory):
    campaigns = [
        FakeCampaign("5001", "Retries_Itself", max_attempts=3),
        FakeCampaign("5002", "One_Attempt", max_attempts=1),
    ]
    with FakeUcce(campaigns=campaigns) as fake:
        app = app_factory(
            ECM_DIALER="ucce",
            ECM_UCCE_URL=fake.url,
            ECM_UCCE_USER=fake.username,
            ECM_UCCE_PASSWORD=fake.password,
        )
        client = app.test_client()
        with app.app_context():
            from portal.services import cisco, stats

            admin = _admin()
            cisco.fetch_cisco_campaigns(admin)
            retrying = make_strategy(
                admin,
                [{"retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 60}]}],
            )
            make_campaign(admin, retrying, "Twice", ciscoCampaignId="5001")
            make_campaign(admin, retrying, "Once", ciscoCampaignId="5002")
            figures = {c["name"]: c for c in stats.dashboard(admin)["campaigns"]}
            warning = figures["Twice"]["ciscoRetryWarning"]
            assert "up to 3 attempts" in warning and "Retries_Itself" in warning
            assert figures["Once"]["ciscoRetryWarning"] is None
        _web_login(client)
        html = client.get("/").get_data(as_text=True)
        assert html.count('class="cisco-retry-warning"') == 1


def _web_login(client):
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = client.post(
        "/login", data={"username": "admin", "password": "admin", "csrf_token": token}
    )
    assert res.status_code in (302, 303)
