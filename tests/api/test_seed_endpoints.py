"""Each seed endpoint, sent the seed's own example request, answers the seed's shape."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from tests.api import seed_examples as seed


def new_strategy(api, name: str = "TestStrategy") -> dict:
    res = api.post("/umm/ecm/callStrategy/save", {"name": name})
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def new_attempt(api, strategy_id: int, **extra) -> dict:
    res = api.post(
        "/umm/ecm/callStrategyAttempt/save",
        {**seed.attempt_save_request(strategy_id), "attemptNumber": None, **extra},
    )
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def new_campaign(api, strategy_id: int, **extra) -> dict:
    res = api.post(
        "/umm/ecm/campaign/createCampaign",
        {**seed.create_campaign_request(strategy_id), **extra},
    )
    assert res.status_code == 201, res.get_json()
    return res.get_json()


def assert_campaign_shape(body: dict) -> None:
    seed.assert_seed_shape(body, seed.CAMPAIGN_RESPONSE)
    assert body["weekDays"] == body["weekdays"]
    assert "startTIme" not in body


# -- Login -------------------------------------------------------------------------


def test_login_seed_example(client, app):
    res = client.open("/umm/api/login", method="GET", json=seed.LOGIN_REQUEST)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.LOGIN_RESPONSE)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 36000
    assert body["userDetails"]["username"] == "admin"
    assert body["userDetails"]["roles"][0]["name"] == "Administrator"
    assert body["token"] != body["refresh_token"]


# -- Campaigns ---------------------------------------------------------------------


def test_fetch_cisco_campaigns_seed_shape(api):
    res = api.get("/umm/ecm/campaign/fetchCiscoCampaigns")
    assert res.status_code == 200
    items = res.get_json()
    assert items, "the simulator dialer offers campaigns"
    seed.assert_seed_shape(items, seed.CISCO_CAMPAIGNS_CCE_RESPONSE)


def test_create_campaign_seed_example(api):
    strategy = new_strategy(api)
    res = api.post(
        "/umm/ecm/campaign/createCampaign", seed.create_campaign_request(strategy["id"])
    )
    assert res.status_code == 201
    body = res.get_json()
    assert_campaign_shape(body)
    assert body["name"] == "sample_campaign"
    assert body["strategyId"] == str(strategy["id"])
    assert (body["startTime"], body["endTime"], body["weekDays"]) == (
        "22:10",
        "22:23",
        "0,1,2",
    )
    assert body["ciscoCampaignId"] == "5001"
    assert body["ciscoCampaignName"], "the dialer campaign's name is filled in"


SKILL_GROUP_PATHS = [
    "/umm/ecm/campaign/createCampaignBySkilllGroup",
    "/umm/ecm/campaign/createCampaignBySkillGroup",
]


@pytest.mark.parametrize("path", SKILL_GROUP_PATHS)
def test_create_campaign_by_skill_group_seed_example(api, path):
    """The seed's request verbatim: no dialer campaign is named so, none is linked."""
    strategy = new_strategy(api)
    res = api.post(path, seed.skill_group_request(strategy["id"]))
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(
        body,
        seed.SKILL_GROUP_RESPONSE,
        nullable={"ciscoCampaignId", "ciscoCampaignName", "smsTemplate"},
    )
    assert body["skillGroup"] == "skillGroupName"
    assert body["dialerType"] == "PREDICTIVE"
    assert body["weekDays"] == body["weekdays"] == "0,1,2,3,6"
    assert body["ciscoCampaignId"] is None


@pytest.mark.parametrize("path", SKILL_GROUP_PATHS)
def test_create_campaign_by_skill_group_links_the_dialer_campaign(api, path):
    dialer = api.get("/umm/ecm/campaign/fetchCiscoCampaigns").get_json()[0]
    strategy = new_strategy(api)
    request = {
        **seed.skill_group_request(strategy["id"]),
        "skillGroup": dialer["ciscoCampaignName"].upper(),
    }
    res = api.post(path, request)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.SKILL_GROUP_RESPONSE, nullable={"smsTemplate"})
    assert body["ciscoCampaignId"] == dialer["ciscoCampaignId"]
    assert body["ciscoCampaignName"] == dialer["ciscoCampaignName"]


def test_update_campaign_seed_example(api):
    campaign = new_campaign(api, new_strategy(api)["id"])
    res = api.put(
        "/umm/ecm/campaign/update", seed.update_campaign_request(int(campaign["id"]))
    )
    assert res.status_code == 200
    body = res.get_json()
    assert_campaign_shape(body)
    assert body["name"] == "updated name"
    assert body["startTime"] == campaign["startTime"], "other fields are kept"


def test_list_campaigns_seed_shape(api):
    strategy = new_strategy(api)
    new_campaign(api, strategy["id"])
    new_campaign(api, strategy["id"], name="second")
    res = api.get("/umm/ecm/campaign")
    assert res.status_code == 200
    items = res.get_json()
    assert isinstance(items, list) and len(items) == 2
    for item in items:
        assert_campaign_shape(item)
    assert res.headers["X-Total-Count"] == "2"


def test_delete_campaign_seed_example(api):
    campaign = new_campaign(api, new_strategy(api)["id"])
    res = api.delete(f"/umm/ecm/campaign/delete?id={campaign['id']}")
    assert res.status_code == 200
    assert (
        res.get_json()["message"]
        == f"Campaign with id {campaign['id']} successfully deleted"
    )
    assert api.get("/umm/ecm/campaign").get_json() == []


def test_campaign_update_status_pause_and_resume(api):
    campaign = new_campaign(api, new_strategy(api)["id"])
    cid = int(campaign["id"])
    res = api.post("/umm/ecm/campaign/campaignUpdateStatus", {"id": cid, "status": 0})
    assert res.status_code == 200
    assert res.get_json() == {"message": f"Campaign with id {cid} successfully paused"}
    res = api.post("/umm/ecm/campaign/campaignUpdateStatus", {"id": cid, "status": 1})
    assert res.get_json() == {"message": f"Campaign with id {cid} successfully resumed"}


# -- DNC ---------------------------------------------------------------------------


def test_dnc_save_seed_example(api):
    res = api.post("/umm/ecm/contact/save", seed.DNC_SAVE_REQUEST)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.DNC_ENTRY_RESPONSE)
    assert body["dateCreated"] == body["dataCreated"]
    assert body["primaryNumber"] == "03062558180", "stored as the caller gave it"
    assert body["name"] == "David"


def test_dnc_list_seed_shape(api):
    api.post("/umm/ecm/contact/save", seed.DNC_SAVE_REQUEST)
    res = api.get("/umm/ecm/contact")
    assert res.status_code == 200
    items = res.get_json()
    assert len(items) == 1
    seed.assert_seed_shape(items, [seed.DNC_ENTRY_RESPONSE])
    assert res.headers["X-Total-Count"] == "1"


def test_dnc_update_seed_example(api):
    entry = api.post(
        "/umm/ecm/contact/save", {"primaryNumber": "+14155550123"}
    ).get_json()
    res = api.post("/umm/ecm/contact/update", seed.dnc_update_request(entry["id"]))
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.DNC_ENTRY_RESPONSE)
    assert (body["name"], body["primaryNumber"]) == ("David", "03062558180")
    assert body["dataCreated"] == entry["dataCreated"], "the echoed dates are ignored"


def test_dnc_delete_seed_example(api):
    entry = api.post("/umm/ecm/contact/save", seed.DNC_SAVE_REQUEST).get_json()
    res = api.delete(f"/umm/ecm/contact/delete?id={entry['id']}")
    assert res.status_code == 204
    assert res.get_data() == b""
    assert api.get("/umm/ecm/contact").get_json() == []


# -- Contacts (callbacks) ----------------------------------------------------------


def test_insert_callback_seed_example(api):
    campaign = new_campaign(api, new_strategy(api)["id"])
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        seed.insert_callback_request(int(campaign["id"])),
    )
    assert res.status_code == 200
    body = res.get_json()
    assert body["statusString"] == "callback data saved"
    assert isinstance(body["id"], int)


def test_get_list_seed_shape(api):
    strategy = new_strategy(api)
    new_attempt(api, strategy["id"])
    campaign = new_campaign(api, strategy["id"])
    api.post(
        "/umm/ecm/callback/insertCallback",
        seed.insert_callback_request(int(campaign["id"])),
    )
    res = api.get(f"/umm/ecm/callback/getList?campaignId={campaign['id']}")
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.CALLBACK_LIST_RESPONSE, nullable={"requestTime"})
    row = body["callbackData"][0]
    assert body["total"] == 1
    assert row["dialTime"] == "2019-11-12 15:10:20"
    assert row["campaignId"] == int(campaign["id"])
    assert row["ciscoCampaignId"] == 5001
    assert row["phone1"] == "+14155550101"
    assert (row["requestState"], row["callResult"], row["requestTime"]) == (0, 0, None)


def test_get_list_seed_shape_of_a_dispatched_contact(api, app):
    """A contact with the dialer carries requestTime, numberToCall and its timeout."""
    from portal.extensions import db
    from portal.models import Contact

    strategy = new_strategy(api)
    new_attempt(api, strategy["id"])
    campaign = new_campaign(api, strategy["id"])
    api.post(
        "/umm/ecm/callback/insertCallback",
        seed.insert_callback_request(int(campaign["id"])),
    )
    with app.app_context():
        contact = db.session.scalars(db.select(Contact)).one()
        contact.request_state = 1
        contact.request_time = datetime(2019, 7, 31, 12, 53, 34)
        contact.number_to_call = contact.phone1
        db.session.commit()
    body = api.post(
        "/umm/ecm/callback/getList", {"campaignId": campaign["id"]}
    ).get_json()
    seed.assert_seed_shape(body, seed.CALLBACK_LIST_RESPONSE)
    row = body["callbackData"][0]
    assert row["requestTime"] == "2019-07-31T12:53:34Z"
    assert row["responseTimeout"] == "2019-07-31T13:23:34Z", "request time + 1800 s"
    assert row["numberToCall"] == "+14155550101", "a string keeps the leading +"


# -- Strategies --------------------------------------------------------------------


def test_strategy_save_seed_example(api):
    res = api.post("/umm/ecm/callStrategy/save", seed.STRATEGY_SAVE_REQUEST)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.STRATEGY_SAVE_RESPONSE)
    assert body["name"] == "TestStrategy"


def test_strategy_list_seed_shape(api):
    strategy = new_strategy(api, "default")
    new_attempt(
        api,
        strategy["id"],
        retryMap=[{"attempt_number": 2, "delay": 10, "expiry": 10, "call_result": 2}],
    )
    res = api.get("/umm/ecm/callStrategy")
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.STRATEGY_LIST_RESPONSE)
    assert res.get_json()[0]["callAttempts"][0]["retryMap"][0]["expiry"] == 10


def test_strategy_update_name_seed_example(api):
    strategy = new_strategy(api)
    res = api.post(
        "/umm/ecm/callStrategy/updateName", seed.update_name_request(strategy["id"])
    )
    assert res.status_code == 200
    assert res.get_json()["name"] == "Renamed"
    assert api.get("/umm/ecm/callStrategy").get_json()[0]["name"] == "Renamed"


def test_strategy_delete_seed_example(api):
    strategy = new_strategy(api)
    res = api.post(f"/umm/ecm/callStrategy/delete?id={strategy['id']}")
    assert res.status_code == 200
    assert api.get("/umm/ecm/callStrategy").get_json() == []


def test_attempt_list_seed_shape(api):
    strategy = new_strategy(api)
    new_attempt(api, strategy["id"])
    res = api.get(f"/umm/ecm/callStrategyAttempt?csId={strategy['id']}")
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.ATTEMPT_LIST_RESPONSE)
    assert res.get_json()[0]["csId"] == strategy["id"]


def test_attempt_save_seed_example(api):
    strategy = new_strategy(api)
    res = api.post(
        "/umm/ecm/callStrategyAttempt/save", seed.attempt_save_request(strategy["id"])
    )
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.ATTEMPT_RESPONSE)
    assert body["retryMap"] == [
        {"attempt_number": 2, "delay": 10, "expiry": None, "call_result": 2}
    ]
    assert (body["csId"], body["attemptNumber"]) == (strategy["id"], 1)


def test_attempt_update_seed_example(api):
    strategy = new_strategy(api)
    attempt = new_attempt(api, strategy["id"])
    request = {
        **seed.attempt_update_request(strategy["id"], attempt["id"]),
        "name": "Renamed",
    }
    res = api.post("/umm/ecm/callStrategyAttempt/update", request)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.ATTEMPT_UPDATE_RESPONSE)
    assert (body["id"], body["csAttempt"], body["name"]) == (
        attempt["id"],
        attempt["id"],
        "Renamed",
    )


def test_attempt_delete_seed_example(api):
    strategy = new_strategy(api)
    attempt = new_attempt(api, strategy["id"])
    res = api.post(f"/umm/ecm/callStrategyAttempt/delete?id={attempt['id']}")
    assert res.status_code == 200
    assert (
        api.get(f"/umm/ecm/callStrategyAttempt?csId={strategy['id']}").get_json() == []
    )


def test_attempt_update_order_seed_example(api):
    strategy = new_strategy(api)
    first = new_attempt(api, strategy["id"], name="First")
    second = new_attempt(api, strategy["id"], name="Second")
    res = api.post(
        "/umm/ecm/callStrategyAttempt/updateOrder",
        seed.update_order_request([(second["id"], 1), (first["id"], 2)]),
    )
    assert res.status_code == 200
    order = [(a["name"], a["attemptNumber"]) for a in res.get_json()["callAttempts"]]
    assert order == [("Second", 1), ("First", 2)]


# -- Preferences -------------------------------------------------------------------


def test_preferences_save_seed_example(api):
    res = api.post("/umm/ecm/preferenceSettings/save", seed.PREFERENCES_SAVE_REQUEST)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.PREFERENCES_RESPONSE)
    assert body["password"] == "********"
    assert (body["campaignBatchSize"], body["ivrBatchSize"], body["Domain"]) == (
        22,
        33,
        "DbDomain",
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_preferences_get_seed_shape(api, method):
    api.post("/umm/ecm/preferenceSettings/save", seed.PREFERENCES_SAVE_REQUEST)
    res = api.call(method, "/umm/ecm/preferenceSettings")
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.PREFERENCES_RESPONSE)


def test_preferences_update_seed_example(api):
    saved = api.post(
        "/umm/ecm/preferenceSettings/save", seed.PREFERENCES_SAVE_REQUEST
    ).get_json()
    request = {**seed.preferences_update_request(saved["id"]), "ivrBatchSize": 44}
    res = api.post("/umm/ecm/preferenceSettings/update", request)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.PREFERENCES_RESPONSE)
    assert (body["id"], body["ivrBatchSize"]) == (saved["id"], 44)


def test_preferences_delete_seed_example(api):
    saved = api.post(
        "/umm/ecm/preferenceSettings/save", seed.PREFERENCES_SAVE_REQUEST
    ).get_json()
    res = api.post(f"/umm/ecm/preferenceSettings/delete?id={saved['id']}")
    assert res.status_code == 200
    assert api.get("/umm/ecm/preferenceSettings").status_code == 404


# -- Bulk uploads (the import itself is tested in tests/services/test_imports.py) --


def _multipart(api, path: str, content: bytes, **fields):
    data = {"file": (io.BytesIO(content), "upload.csv"), **fields}
    return api.client.post(
        path, data=data, content_type="multipart/form-data", headers=api._headers()
    )


def _import_now(app, upload_id: int) -> dict:
    from portal.services import uploads

    with app.app_context():
        uploads.run_import(upload_id)
    return upload_id


def test_upload_bulk_caller_seed_example(api, app):
    campaign = new_campaign(api, new_strategy(api)["id"])
    res = _multipart(
        api,
        "/umm/ecm/callback/uploadBulkCaller",
        b"0300948984,,,,,Ayesha\n",
        campaignId=campaign["id"],
    )
    assert res.status_code == 200
    body = res.get_json()
    assert body["message"] == "File is uploaded" and isinstance(body["uploadId"], int)
    _import_now(app, body["uploadId"])
    status = api.get(f"/umm/ecm/upload/{body['uploadId']}").get_json()
    assert (status["state"], status["accepted"]) == ("done", 1)


def test_upload_bulk_caller_seed_example_row_is_data(api, app):
    campaign = new_campaign(api, new_strategy(api)["id"])
    res = _multipart(
        api,
        "/umm/ecm/callback/uploadBulkCaller",
        b"0300948984,,,,,businessParam1\n",
        campaignId=campaign["id"],
    )
    _import_now(app, res.get_json()["uploadId"])
    status = api.get(f"/umm/ecm/upload/{res.get_json()['uploadId']}").get_json()
    assert status["accepted"] == 1


def test_upload_dnc_csv_seed_example(api, app):
    res = _multipart(
        api, "/umm/ecm/contact/uploadCsv", b"03062558180,David\n+14155550100\n"
    )
    assert res.status_code == 200
    body = res.get_json()
    assert body["message"] == "File is uploaded" and isinstance(body["uploadId"], int)
    _import_now(app, body["uploadId"])
    entries = api.get("/umm/ecm/contact").get_json()
    assert {(e["primaryNumber"], e["name"]) for e in entries} == {
        ("03062558180", "David"),
        ("+14155550100", None),
    }


def test_bulk_uploads_are_post_only(api):
    assert api.get("/umm/ecm/callback/uploadBulkCaller").status_code == 405


def test_a_number_longer_than_its_column_is_a_field_error_not_a_503(api):
    """20 digits and a run of '#'/'*' once passed the digit rule and overflowed the
    32-character column on PostgreSQL (schemathesis found the 503)."""
    long_number = "+" + "1" * 20 + "#" * 12
    res = api.post("/umm/ecm/contact/save", {"primaryNumber": long_number})
    assert res.status_code == 406, res.get_data(as_text=True)
    assert "primaryNumber" in res.get_data(as_text=True)
