"""Steering over the API: campaign fields, contact priority, filter preview, recycling,
callbacks, with the 406 shape for bad input (#14)."""

from __future__ import annotations

import json

from tests.api.test_seed_endpoints import new_attempt, new_campaign, new_strategy


def _campaign(api, **extra) -> dict:
    strategy = new_strategy(api, "Steer API")
    new_attempt(api, strategy["id"])
    return new_campaign(api, strategy["id"], **extra)


def test_campaign_takes_dial_order_filter_and_recycle_rules(api):
    flt = {"match": "any", "rules": [{"field": "region", "op": "in", "value": "gb"}]}
    rules = [{"callResults": [9, 8, 8], "afterDays": 2.5, "maxTimes": 3}]
    made = _campaign(api, dialOrder="Priority", contactFilter=flt, recycleRules=rules)
    assert made["dialOrder"] == "priority"
    assert made["contactFilter"]["rules"][0]["value"] == ["GB"]
    assert made["recycleRules"] == [
        {"callResults": [8, 9], "afterDays": 2.5, "maxTimes": 3}
    ]
    res = api.put("/umm/ecm/campaign/update", {"id": made["id"], "contactFilter": None})
    assert res.status_code == 200 and res.get_json()["contactFilter"] is None
    assert res.get_json()["dialOrder"] == "priority"


def test_bad_steering_fields_answer_406(api):
    made = _campaign(api)
    for field, value in (
        ("dialOrder", "loudest"),
        ("contactFilter", {"rules": [{"field": "sql", "op": "eq", "value": 1}]}),
        (
            "contactFilter",
            {"rules": [{"field": "priority", "op": "gte", "value": "x"}]},
        ),
        ("contactFilter", "businessParam1 = 'a'"),
        ("recycleRules", [{"callResults": [999], "afterDays": 1}]),
        ("recycleRules", [{"callResults": [8], "afterDays": -1}]),
    ):
        res = api.put("/umm/ecm/campaign/update", {"id": made["id"], field: value})
        assert res.status_code == 406, (field, value, res.get_json())
        body = res.get_json()
        assert body["error"] == "not_acceptable"
        assert any(k.startswith(field) for k in body["fields"]), body


def test_priority_on_insert_and_in_get_list(api):
    made = _campaign(api)
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": made["id"], "phone1": "+12125550123", "priority": "7"},
    )
    assert res.status_code == 200, res.get_json()
    listed = api.get(f"/umm/ecm/callback/getList?campaignId={made['id']}").get_json()
    assert listed["callbackData"][0]["priority"] == 7
    bad = api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": made["id"], "phone1": "+12125550124", "duplicateScope": "x"},
    )
    assert bad.status_code == 406 and "duplicateScope" in bad.get_json()["fields"]


def test_filter_preview_recycle_and_schedule_callback(api):
    made = _campaign(api)
    ids = []
    for n, param in enumerate(("gold", "silver", "gold")):
        res = api.post(
            "/umm/ecm/callback/insertCallback",
            {
                "campaignId": made["id"],
                "phone1": f"+1212555020{n}",
                "businessParam2": param,
            },
        )
        ids.append(res.get_json()["id"])
    preview = api.post(
        f"/umm/ecm/campaign/{made['id']}/filterPreview",
        {"rules": [{"field": "businessParam2", "op": "eq", "value": "gold"}]},
    )
    assert preview.status_code == 200
    assert preview.get_json()["kept"] == 2 and preview.get_json()["pending"] == 3
    bad = api.post(f"/umm/ecm/campaign/{made['id']}/filterPreview", {"rules": [{}]})
    assert bad.status_code == 406
    recycled = api.post(f"/umm/ecm/campaign/{made['id']}/recycle", {"ids": ids})
    assert recycled.get_json() == {"reopened": 0, "blockedDnc": 0, "skipped": 3}
    assert api.post(f"/umm/ecm/campaign/{made['id']}/recycle", {}).status_code == 406
    scheduled = api.post(
        "/umm/ecm/callback/scheduleCallback",
        {"id": ids[0], "callbackTime": "2099-01-02 16:00:00"},
    )
    assert scheduled.status_code == 200, scheduled.get_json()
    listed = api.get(f"/umm/ecm/callback/getList?campaignId={made['id']}").get_json()
    first = next(c for c in listed["callbackData"] if c["id"] == ids[0])
    assert first["callbackTime"] == "2099-01-02 16:00:00"
    past = api.post(
        "/umm/ecm/callback/scheduleCallback",
        {"id": ids[0], "callbackTime": "2001-01-01 10:00"},
    )
    assert past.status_code == 406 and "callbackTime" in past.get_json()["fields"]


def test_viewer_cannot_steer(api, viewer_api):
    made = _campaign(api)
    assert (
        viewer_api.post(
            f"/umm/ecm/campaign/{made['id']}/recycle", {"callResults": [8]}
        ).status_code
        == 403
    )
    assert viewer_api.get(f"/umm/ecm/campaign/{made['id']}/report").status_code == 200
    assert (
        viewer_api.post(
            f"/umm/ecm/campaign/{made['id']}/filterPreview", {"rules": []}
        ).status_code
        == 200
    )


def test_filter_preview_counts_a_zone_and_openapi_names_it(api):
    made = _campaign(api)
    for number in ("+12125550201", "+13125550201", "+13125550202"):
        res = api.post(
            "/umm/ecm/callback/insertCallback",
            {"campaignId": made["id"], "phone1": number},
        )
        assert res.status_code == 200, res.get_json()
    url = f"/umm/ecm/campaign/{made['id']}/filterPreview"
    chicago = {"rules": [{"field": "zone", "op": "in", "value": "America/Chicago"}]}
    preview = api.post(url, chicago)
    assert preview.status_code == 200, preview.get_json()
    assert (preview.get_json()["kept"], preview.get_json()["pending"]) == (2, 3)
    assert preview.get_json()["contactFilter"]["rules"][0]["value"] == [
        "America/Chicago"
    ]
    bad = api.post(
        url, {"rules": [{"field": "zone", "op": "in", "value": ["Mars/Olympus"]}]}
    )
    assert bad.status_code == 406
    assert "not an IANA time zone" in bad.get_json()["fields"]["contactFilter"]
    saved = api.put(
        "/umm/ecm/campaign/update", {"id": made["id"], "contactFilter": chicago}
    )
    assert saved.status_code == 200 and saved.get_json()["contactFilter"]["rules"]
    doc = api.get("/umm/openapi.json").get_json()
    rule = doc["components"]["schemas"]["ContactFilter"]["properties"]["rules"]["items"]
    assert "zone:" in rule["description"]
    zone = [
        o for o in rule["anyOf"] if "zone" in o["properties"]["field"].get("enum", [])
    ]
    assert {op for o in zone for op in o["properties"]["op"]["enum"]} == {
        "in",
        "not_in",
        "empty",
        "not_empty",
    }
    assert "America/Chicago" in json.dumps(zone)
