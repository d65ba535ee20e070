"""CSV exports: formula injection neutralised, streamed in keyset batches, roles."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from portal.services.exports import csv_lines, safe_cell
from tests.conftest import Api, login_token, make_user
from tests.security.builders import new_campaign, new_contact

DDE = "=cmd|' /C calc'!A0"
PAYLOADS = [
    DDE,
    "@SUM(1)",
    "+1+1",
    "-2+3",
    '=HYPERLINK("http://evil","x")',
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "＋1+1",
    "＠SUM(1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_cell_neutralises_formulas(payload):
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize(
    "value",
    [
        "+441234567890",
        "+1 415 555 0100",
        "-15",
        "4155550100",
        "Smith",
        "a=b",
        "O'Brien",
        "",
    ],
)
def test_safe_cell_keeps_data_readable(value):
    assert safe_cell(value) == value


def test_safe_cell_types():
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"
    assert safe_cell(-3) == "-3"
    assert safe_cell(2.5) == "2.5"


def test_csv_lines_quotes_separators_and_newlines():
    text = "".join(csv_lines(["a", "b"], [["x,y", 'say "hi"'], ["line\nbreak", DDE]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b"], ["x,y", 'say "hi"'], ["line\nbreak", "'" + DDE]]


def _csv(res) -> list[dict]:
    assert res.status_code == 200, res.get_data(as_text=True)
    assert res.mimetype == "text/csv"
    assert res.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))


def test_contacts_export_neutralises_injection(api, admin):
    campaign = new_campaign(admin, crmCampaignId="@SUM(1)")
    new_contact(
        admin,
        campaign,
        "+441234567890",
        businessParam1=DDE,
        businessParam2="@SUM(1)",
        businessParam3="+1+1",
        businessParam4="Plain name",
    )
    rows = _csv(api.get(f"/umm/ecm/campaign/{campaign.id}/contacts.csv"))
    assert len(rows) == 1
    row = rows[0]
    assert row["phone1"] == "+441234567890"
    assert row["businessParam1"] == "'" + DDE
    assert row["businessParam2"] == "'@SUM(1)"
    assert row["businessParam3"] == "'+1+1"
    assert row["businessParam4"] == "Plain name"
    assert row["crmCampaignId"] == "'@SUM(1)"
    assert row["requestStateName"] == "Pending"
    assert row["dialTime"].endswith("Z")
    for cell in row.values():
        assert not cell.startswith(("=", "@")), cell


def test_contacts_export_streams_every_row_once_in_batches(api, admin, monkeypatch):
    from portal.services import exports

    monkeypatch.setattr(exports, "BATCH", 7)
    campaign = new_campaign(admin)
    other = new_campaign(admin)
    for i in range(30):
        new_contact(admin, campaign, f"+1415555{1000 + i}")
    new_contact(admin, other, "+14155559999")
    res = api.get(f"/umm/ecm/campaign/{campaign.id}/contacts.csv")
    assert res.is_streamed
    rows = _csv(res)
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == 30 and ids == sorted(set(ids))
    assert {r["campaignId"] for r in rows} == {str(campaign.id)}


def test_results_export_lists_attempt_history(api, admin):
    from portal.extensions import db
    from portal.models import ContactAttempt, utcnow

    campaign = new_campaign(admin)
    contact = new_contact(admin, campaign, "+441234567890")
    now = utcnow()
    for n, (code, raw) in enumerate([(8, '=HYPERLINK("http://x")'), (10, "ok")], 1):
        db.session.add(
            ContactAttempt(
                contact_id=contact.id,
                campaign_id=campaign.id,
                attempt_number=n,
                number="+441234567890",
                channel=0,
                call_result=code,
                raw_code=raw,
                dialed_at=now - timedelta(minutes=5),
                result_at=now,
            )
        )
    db.session.commit()
    rows = _csv(api.get(f"/umm/ecm/campaign/{campaign.id}/results.csv"))
    assert [r["callResult"] for r in rows] == ["8", "10"]
    assert rows[0]["callResultName"] == "No answer"
    assert rows[0]["rawCode"].startswith("'=")
    assert rows[1]["number"] == "+441234567890"
    assert rows[1]["phone1"] == "+441234567890"
    assert rows[1]["channel"] == "Voice"


def test_audit_export_is_for_administrators_only(client, app, admin):
    from portal.extensions import db
    from portal.services import audit

    new_campaign(admin, name=DDE)
    audit.record(admin, "note", "campaign", 1, None, summary="@SUM(1)")
    db.session.commit()
    make_user("Supervisor", "sup")
    make_user("Viewer", "view")
    for name in ("sup", "view"):
        res = Api(client, login_token(client, name, "password-123")).get(
            "/umm/ecm/audit.csv"
        )
        assert res.status_code == 403
        assert res.get_json()["error"] == "forbidden"
    rows = _csv(
        Api(client, login_token(client, "admin", "admin")).get("/umm/ecm/audit.csv")
    )
    assert any(r["entity"] == "campaign" and DDE in r["changes"] for r in rows)
    assert [r["summary"] for r in rows if r["action"] == "note"] == ["'@SUM(1)"]
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "@", "+")), cell


def test_exports_need_a_token_and_an_existing_campaign(client, api, viewer_api, admin):
    campaign = new_campaign(admin)
    for path in (
        f"/umm/ecm/campaign/{campaign.id}/contacts.csv",
        f"/umm/ecm/campaign/{campaign.id}/results.csv",
        "/umm/ecm/audit.csv",
    ):
        res = client.get(path)
        assert res.status_code == 401
        assert res.get_json()["error"] == "unauthorized"
    assert (
        viewer_api.get(f"/umm/ecm/campaign/{campaign.id}/contacts.csv").status_code
        == 200
    )
    missing = api.get("/umm/ecm/campaign/999999/contacts.csv")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "not_found"


def test_exports_are_documented_as_csv(client):
    doc = client.get("/umm/openapi.json").get_json()
    op = doc["paths"]["/umm/ecm/campaign/{campaign_id}/contacts.csv"]["get"]
    assert "text/csv" in op["responses"]["200"]["content"]
    assert op["security"] == [{"bearerAuth": []}]
