"""The consent endpoints on the wire: DNC lists, opt-outs, result effects, stats."""

from __future__ import annotations

import io

from portal.extensions import db
from portal.models import Contact
from tests.feed.support import add_contacts


def test_ecm_dnc_entries_carry_the_three_optional_fields(api):
    res = api.post(
        "/umm/ecm/contact/save",
        {
            "primaryNumber": "+14155550123",
            "expiresAt": "2030-01-01T00:00:00Z",
            "source": "crm",
            "reason": "temporary hold",
        },
    )
    assert res.status_code == 200
    body = res.get_json()
    assert (body["expiresAt"], body["source"], body["reason"]) == (
        "2030-01-01T00:00:00Z",
        "crm",
        "temporary hold",
    )
    plain = api.post("/umm/ecm/contact/save", {"primaryNumber": "+14155550124"})
    assert plain.get_json()["expiresAt"] is None
    res = api.post("/umm/ecm/contact/update", {"id": body["id"], "expiresAt": None})
    assert res.status_code == 200 and res.get_json()["expiresAt"] is None
    bad = api.post(
        "/umm/ecm/contact/save", {"primaryNumber": "+14155550125", "expiresAt": "soon"}
    )
    assert bad.status_code == 406 and "expiresAt" in bad.get_json()["fields"]
    long = api.post(
        "/umm/ecm/contact/save", {"primaryNumber": "+14155550125", "source": "x" * 65}
    )
    assert long.status_code == 406 and "source" in long.get_json()["fields"]


def test_named_list_lifecycle(api, viewer_api):
    res = api.post(
        "/umm/ecm/dncList/save", {"name": "Wrong numbers", "channel": "voice"}
    )
    assert res.status_code == 200, res.get_json()
    item = res.get_json()
    assert (item["channel"], item["campaignId"], item["entries"]) == ("voice", None, 0)
    lid = item["id"]
    res = api.post(
        f"/umm/ecm/dncList/{lid}/entries/save",
        {"primaryNumber": "(415) 555-0100", "reason": "wrong", "source": "agent"},
    )
    assert res.status_code == 200
    entry = res.get_json()
    assert entry["primaryNumber"] == "4155550100" and entry["active"] is True
    upload = api.client.post(
        f"/umm/ecm/dncList/{lid}/upload",
        data={"file": (io.BytesIO(b"+14155550101,Ann\nnope\n"), "l.csv")},
        headers={"Authorization": f"Bearer {api.token}"},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200 and upload.get_json()["added"] == 1
    res = api.get(f"/umm/ecm/dncList/{lid}/entries?q=0101")
    assert [e["name"] for e in res.get_json()] == ["Ann"]
    assert res.headers["X-Total-Count"] == "1"
    res = api.put(
        "/umm/ecm/dncList/entries/update",
        {"id": entry["id"], "expiresAt": "2020-01-01T00:00:00Z"},
    )
    assert res.get_json()["active"] is False, "expired: kept, no longer blocking"
    assert api.get("/umm/ecm/dncList").get_json()[0]["entries"] == 2
    assert viewer_api.post("/umm/ecm/dncList/save", {"name": "V"}).status_code == 403
    assert viewer_api.get("/umm/ecm/dncList").status_code == 200
    res = api.post("/umm/ecm/dncList/save", {"name": "wrong numbers"})
    assert res.status_code == 406 and "name" in res.get_json()["fields"]
    res = api.post("/umm/ecm/dncList/save", {"name": "Z", "scope": "global"})
    assert res.status_code == 406 and res.get_json()["fields"]["scope"]
    assert api.get("/umm/ecm/dncList/999/entries").status_code == 404
    assert (
        api.delete(f"/umm/ecm/dncList/entries/delete?id={entry['id']}").status_code
        == 204
    )
    assert api.delete(f"/umm/ecm/dncList/delete?id={lid}").status_code == 204
    assert api.get("/umm/ecm/dncList").get_json() == []


def test_opt_out_intake_and_report(api):
    res = api.post(
        "/umm/ecm/optOut",
        {"number": "+14155550100", "channel": "sms", "source": "STOP reply"},
    )
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["channel"] == "sms" and body["withinDeadline"] is True
    assert body["secondsToEffect"] <= 1
    report = api.get("/umm/ecm/optOut/report?from=2000-01-01T00:00:00Z")
    assert [r["number"] for r in report.get_json()] == ["+14155550100"]
    bad = api.get("/umm/ecm/optOut/report?from=yesterday")
    assert bad.status_code == 406
    bad = api.post("/umm/ecm/optOut", {"number": "+14155550100", "channel": "fax"})
    assert bad.status_code == 406 and "channel" in bad.get_json()["fields"]


def test_result_effects_endpoints(api):
    rows = api.get("/umm/ecm/resultEffects").get_json()
    assert {r["callResult"]: r["effect"] for r in rows}[23] == "skip_number"
    res = api.post("/umm/ecm/resultEffects/save", {"callResult": 21, "effect": "close"})
    assert res.status_code == 200
    assert {r["callResult"]: r["effect"] for r in res.get_json()}[21] == "close"
    assert api.delete("/umm/ecm/resultEffects/delete?callResult=21").status_code == 204
    bad = api.post("/umm/ecm/resultEffects/save", {"callResult": 21, "effect": "x"})
    assert bad.status_code == 406


def test_campaign_max_abandon_rate_stats_and_eligibility(api, app):
    strategy = api.post(
        "/umm/ecm/callStrategy/save", {"name": "S", "maxAttempts": 2}
    ).get_json()
    api.post(
        "/umm/ecm/callStrategyAttempt/save",
        {"csId": strategy["id"], "name": "A", "phone": "1", "channel": 0},
    )
    res = api.post(
        "/umm/ecm/campaign/createCampaign",
        {"name": "G", "strategyId": strategy["id"], "maxAbandonRate": "3"},
    )
    assert res.status_code == 201, res.get_json()
    campaign = res.get_json()
    assert campaign["maxAbandonRate"] == 3.0 and campaign["pauseReason"] is None
    bad = api.post(
        "/umm/ecm/campaign/createCampaign",
        {"name": "H", "strategyId": strategy["id"], "maxAbandonRate": 101},
    )
    assert bad.status_code == 406 and "maxAbandonRate" in bad.get_json()["fields"]
    stats = api.get(f"/umm/ecm/campaign/{campaign['id']}/stats").get_json()
    assert (stats["abandonRate24h"], stats["abandonRate30d"]) == (0.0, 0.0)
    with app.app_context():
        from portal.models import Campaign

        (cid,) = add_contacts(db.session.get(Campaign, int(campaign["id"])), 1)
        db.session.get(Contact, cid)
    api.post(
        "/umm/ecm/contact/save",
        {"primaryNumber": "+12125550001", "expiresAt": "2099-01-01T00:00:00Z"},
    )
    why = api.get(f"/umm/ecm/callback/{cid}/eligibility").get_json()
    reason = next(r for r in why["reasons"] if r["code"] == "on_dnc")
    assert reason["liftsAt"] == "2099-01-01T00:00:00Z"


def test_openapi_documents_the_new_names(api):
    doc = api.client.get("/umm/openapi.json").get_json()
    for path in (
        "/umm/ecm/dncList",
        "/umm/ecm/dncList/{list_id}/entries",
        "/umm/ecm/optOut",
        "/umm/ecm/optOut/report",
        "/umm/ecm/resultEffects/save",
        "/umm/ecm/privacy/erase",
    ):
        assert path in doc["paths"], path
    schemas = doc["components"]["schemas"]
    assert {"expiresAt", "source", "reason"} <= set(schemas["DncIn"]["properties"])
    for name in ("CampaignCreate", "CampaignUpdate"):
        assert "maxAbandonRate" in schemas[name]["properties"], name
    assert "number" in schemas["EraseIn"]["properties"]


def test_a_named_list_upload_that_is_empty_or_has_a_nul_byte_is_refused(api):
    """A NUL byte means the file is no CSV text file: a 406 naming the line, and the
    list keeps exactly what it had (no row of the refused file is added)."""
    lid = api.post("/umm/ecm/dncList/save", {"name": "NUL list"}).get_json()["id"]
    kept = api.post(
        f"/umm/ecm/dncList/{lid}/entries/save", {"primaryNumber": "+14155550110"}
    )
    assert kept.status_code == 200
    for content in (
        b"+14155550111,Ann\n+14155550112,B\x00b\n+14155550113,Cy\n",
        # past the first chunk of 5000 rows, which were already added to the session
        b"".join(b"+1415556%04d,A\n" % n for n in range(6000)) + b"+1\x00\n",
        b"\x00\x00+14155550115\n",
    ):
        res = api.client.post(
            f"/umm/ecm/dncList/{lid}/upload",
            data={"file": (io.BytesIO(content), "l.csv")},
            headers={"Authorization": f"Bearer {api.token}"},
            content_type="multipart/form-data",
        )
        assert res.status_code == 406, res.get_json()
        body = res.get_json()
        assert body["error"] == "not_acceptable"
        assert body["message"] == "Not a CSV file"
        line = content.count(b"\n", 0, content.index(b"\x00")) + 1
        assert body["fields"]["file"].startswith(f"line {line} contains a NUL byte")
        entries = api.get(f"/umm/ecm/dncList/{lid}/entries").get_json()
        assert [e["primaryNumber"] for e in entries] == ["+14155550110"]
    res = api.client.post(
        f"/umm/ecm/dncList/{lid}/upload",
        data={"file": (io.BytesIO(b""), "empty.csv")},
        headers={"Authorization": f"Bearer {api.token}"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 406, res.get_json()  # the document: minLength 1
    assert res.get_json()["fields"] == {"file": "is empty"}
