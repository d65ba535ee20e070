"""A contact's own timeZone and region over the ECM API (issue #12 item 3): optional
fields on insertCallback and getList, 406 field errors, the eligibility answer."""

from __future__ import annotations

from tests.api.test_seed_endpoints import new_attempt, new_campaign, new_strategy


def _campaign(api) -> dict:
    strategy = new_strategy(api, "Where API")
    new_attempt(api, strategy["id"])
    return new_campaign(api, strategy["id"])


def test_time_zone_and_region_on_insert_get_list_and_eligibility(api):
    made = _campaign(api)
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        {
            "campaignId": made["id"],
            "phone1": "+12125550123",
            "timeZone": "America/Denver",
            "region": "us-co",
        },
    )
    assert res.status_code == 200, res.get_json()
    contact_id = res.get_json()["id"]
    listed = api.get(f"/umm/ecm/callback/getList?campaignId={made['id']}").get_json()
    item = listed["callbackData"][0]
    assert (item["timeZone"], item["region"]) == ("America/Denver", "US-CO")
    answer = api.get(f"/umm/ecm/callback/{contact_id}/eligibility").get_json()
    assert answer["region"] == "US-CO" and answer["regionFrom"] == "contact"
    assert answer["timeZoneFrom"] == "contact"
    # an ECM client that sends neither gets null, and its contacts work as before
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": made["id"], "phone1": "+12125550124"},
    )
    assert res.status_code == 200
    listed = api.get(f"/umm/ecm/callback/getList?campaignId={made['id']}").get_json()
    assert [(c["timeZone"], c["region"]) for c in listed["callbackData"]][1] == (
        None,
        None,
    )


def test_bad_time_zone_and_region_answer_406(api):
    made = _campaign(api)
    for field, value in (
        ("timeZone", "EST5EDT6"),
        ("timeZone", 7),
        ("region", "XX"),
        ("region", "US-ZZ"),
        ("region", "x" * 40),
    ):
        res = api.post(
            "/umm/ecm/callback/insertCallback",
            {"campaignId": made["id"], "phone1": "+12125550125", field: value},
        )
        assert res.status_code == 406, (field, value, res.get_json())
        assert field in res.get_json()["fields"], res.get_json()
