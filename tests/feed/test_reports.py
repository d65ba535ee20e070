"""Campaign reports from the attempt history: service, API, CSV and OpenAPI (#14)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import AttemptCount, Campaign, Contact
from portal.services import reports
from portal.services.errors import ValidationFailed
from portal.services.feed import results
from portal.services.feed.claim import claim_due_contacts
from portal.services.feed.plans import load_plan
from tests.feed.support import T0, add_contacts, make_campaign, make_strategy

RETRY_NO_ANSWER = [{"call_result": 8, "attempt_number": 1, "delay": 60}]


def _dial_round(admin, campaign_id: int, codes: list[int], now) -> None:
    """Claim every due contact, answer each with the next code, apply the results."""
    campaign = db.session.get(Campaign, campaign_id)
    claim = claim_due_contacts(campaign, load_plan(campaign.strategy_id), 100, now)
    for item, code in zip(claim.claimed, codes, strict=False):
        results.receive_result(admin, {"id": item.contact_id, "callResult": code}, now)
    results.apply_inbox(now)


@pytest.fixture
def dialed(admin):
    """Four contacts (two from upload 5), dialed twice in New York time."""
    strategy = make_strategy(
        admin, [{"retryMap": RETRY_NO_ANSWER}], max_attempts=3, name="R"
    )
    campaign = make_campaign(admin, strategy, timeZone="America/New_York")
    ids = add_contacts(campaign, 4, dial_time=T0 - timedelta(hours=1))
    db.session.execute(
        update(Contact).where(Contact.id.in_(ids[:2])).values(upload_id=5)
    )
    db.session.commit()
    _dial_round(admin, campaign.id, [10, 8, 8, 9], T0)  # Wed 10:00 in New York
    later = T0 + timedelta(days=1, hours=2)  # Thu 12:00 in New York
    _dial_round(admin, campaign.id, [10, 8], later)
    return campaign


def test_report_counts_dials_connects_and_dimensions(admin, dialed):
    report = reports.campaign_report(
        admin, dialed.id, {"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert (report["dials"], report["connects"]) == (6, 2)
    assert report["contactRate"] == pytest.approx(2 / 6, abs=1e-4)
    assert report["attemptsPerConnect"] == 3.0
    by_attempt = {a["attemptNumber"]: a for a in report["byAttempt"]}
    assert by_attempt[1]["dials"] == 6
    results_ = {r["code"]: r["count"] for r in report["results"]}
    assert results_ == {10: 2, 8: 3, 9: 1}
    cells = {(c["weekday"], c["hour"]): c for c in report["heatMap"] if c["dials"]}
    assert cells[(3, 10)]["dials"] == 4 and cells[(3, 10)]["connects"] == 1
    assert cells[(4, 12)]["dials"] == 2
    hours = {h["hour"]: h["dials"] for h in report["byHour"]}
    assert hours[10] == 4 and hours[12] == 2
    uploads = {u["uploadId"]: u for u in report["byUpload"]}
    assert uploads[5]["dials"] == 3 and uploads[None]["dials"] == 3


def test_counts_equal_a_rebuild_from_the_history(admin, dialed):
    def snapshot():
        return sorted(
            db.session.execute(
                select(
                    AttemptCount.kind,
                    AttemptCount.bucket,
                    AttemptCount.dimension,
                    AttemptCount.outcome,
                    AttemptCount.dials,
                ).where(AttemptCount.campaign_id == dialed.id)
            ).all()
        )

    kept = snapshot()
    reports.rebuild_counts(dialed.id)
    assert snapshot() == kept


def test_period_limits_the_report(admin, dialed):
    report = reports.campaign_report(
        admin, dialed.id, {"from": "2026-03-05", "to": "2026-03-05"}
    )
    assert report["dials"] == 2
    with pytest.raises(ValidationFailed):
        reports.campaign_report(
            admin, dialed.id, {"from": "2026-03-09", "to": "2026-03-01"}
        )
    with pytest.raises(ValidationFailed):
        reports.campaign_report(admin, dialed.id, {"from": "March"})


def test_report_api_csv_and_openapi(api, app):
    with app.app_context():
        from portal.models import User

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        campaign_id = _make_dialed(admin)
    res = api.get(
        f"/umm/ecm/campaign/{campaign_id}/report?from=2026-03-01&to=2026-03-31"
    )
    assert res.status_code == 200
    assert res.get_json()["dials"] == 6
    bad = api.get(f"/umm/ecm/campaign/{campaign_id}/report?from=yesterday")
    assert bad.status_code == 406 and "from" in bad.get_json()["fields"]
    assert api.get("/umm/ecm/campaign/999/report").status_code == 404
    assert api.client.get(f"/umm/ecm/campaign/{campaign_id}/report").status_code == 401
    out = api.get(
        f"/umm/ecm/campaign/{campaign_id}/report.csv?from=2026-03-01&to=2026-03-31"
    )
    assert out.status_code == 200 and out.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(out.get_data(as_text=True))))
    assert rows[0] == reports.CSV_HEADER
    assert rows[1][0] == "total" and rows[1][3] == "6"
    upload_rows = [r for r in rows if r[0] == "upload"]
    assert any(r[2] == "'=HYPERLINK(1)" for r in upload_rows)  # formula neutralised
    doc = api.get("/umm/openapi.json").get_json()
    path = doc["paths"]["/umm/ecm/campaign/{campaign_id}/report"]["get"]
    assert {p["name"] for p in path["parameters"]} >= {"from", "to"}
    assert (
        "heatMap"
        in path["responses"]["200"]["content"]["application/json"]["schema"][
            "properties"
        ]
    )


def _make_dialed(admin) -> int:
    from portal.models import Upload

    strategy = make_strategy(admin, [{"retryMap": RETRY_NO_ANSWER}], name="R2")
    campaign = make_campaign(admin, strategy, name="API", timeZone="America/New_York")
    upload = Upload(
        kind="contacts",
        campaign_id=campaign.id,
        filename="=HYPERLINK(1)",
        stored_path="/nonexistent",
        content_hash="x",
    )
    db.session.add(upload)
    db.session.commit()
    ids = add_contacts(campaign, 4, dial_time=T0 - timedelta(hours=1))
    db.session.execute(
        update(Contact).where(Contact.id.in_(ids[:2])).values(upload_id=upload.id)
    )
    db.session.commit()
    _dial_round(admin, campaign.id, [10, 8, 8, 9], T0)
    _dial_round(admin, campaign.id, [10, 8], T0 + timedelta(days=1, hours=2))
    return campaign.id


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]
)
def test_local_cells_equal_a_conversion_of_every_quarter_hour(zone):
    """The offset cached per UTC hour gives the cells a per-row astimezone gives,
    across daylight-saving changes and in +5:45 and half-hour-shift zones."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz, utc = ZoneInfo(zone), ZoneInfo("UTC")
    start = datetime(2026, 3, 25)  # spans the March changes of both hemispheres
    rows = [
        (start + timedelta(minutes=15 * q), q % 3 == 0, 1 + q % 5)
        for q in range(4 * 24 * 20)
    ]
    expected: dict = {}
    for bucket, connect, dials in rows:
        local = bucket.replace(tzinfo=utc).astimezone(tz)
        cell = expected.setdefault((int(local.strftime("%w")), local.hour), [0, 0])
        cell[0] += dials
        cell[1] += dials if connect else 0
    assert dict(reports.local_cells(rows, tz)) == expected
