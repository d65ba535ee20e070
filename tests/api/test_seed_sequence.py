"""An integration's whole day, in the seed's own words, on real Redis and a real worker.

login -> strategy -> attempts -> campaigns -> contacts (single and bulk) -> DNC (single
and bulk) -> preferences -> updates -> deletes -> logout, checking each answer's status
code and shape against the seed's examples.
"""

from __future__ import annotations

import io

import pytest
from redis import Redis

from tests.api import seed_examples as seed
from tests.conftest import REDIS_URL, Api
from worker.workers import run_queued_jobs


@pytest.fixture
def redis_app(app_factory):
    """An app whose job queue is the real Redis database reserved for these tests."""
    Redis.from_url(REDIS_URL).flushdb()
    app = app_factory(REDIS_URL=REDIS_URL)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    yield app
    Redis.from_url(REDIS_URL).flushdb()


def run_worker(app) -> None:
    """Run the queued jobs here, as `flask worker --burst` would."""
    assert run_queued_jobs(app)


def upload(api, path: str, content: bytes, **fields):
    data = {"file": (io.BytesIO(content), "upload.csv"), **fields}
    return api.client.post(
        path, data=data, content_type="multipart/form-data", headers=api._headers()
    )


def test_the_seed_sequence_end_to_end(redis_app):
    client = redis_app.test_client()

    # Login, as the seed sends it: GET with a JSON body.
    res = client.open("/umm/api/login", method="GET", json=seed.LOGIN_REQUEST)
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.LOGIN_RESPONSE)
    api = Api(client, res.get_json()["token"])

    # The dialer's campaigns.
    res = api.get("/umm/ecm/campaign/fetchCiscoCampaigns")
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.CISCO_CAMPAIGNS_CCE_RESPONSE)

    # A strategy with two attempts.
    res = api.post("/umm/ecm/callStrategy/save", seed.STRATEGY_SAVE_REQUEST)
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.STRATEGY_SAVE_RESPONSE)
    sid = res.get_json()["id"]
    res = api.post("/umm/ecm/callStrategyAttempt/save", seed.attempt_save_request(sid))
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.ATTEMPT_RESPONSE)
    first = res.get_json()["id"]
    res = api.post(
        "/umm/ecm/callStrategyAttempt/save",
        {
            **seed.attempt_save_request(sid),
            "name": "Second",
            "attemptNumber": 2,
            "retryMap": [],
        },
    )
    assert res.status_code == 200
    second = res.get_json()["id"]
    res = api.get(f"/umm/ecm/callStrategyAttempt?csId={sid}")
    seed.assert_seed_shape(res.get_json(), seed.ATTEMPT_LIST_RESPONSE)
    assert [a["id"] for a in res.get_json()] == [first, second]
    res = api.get("/umm/ecm/callStrategy")
    seed.assert_seed_shape(
        res.get_json(), seed.STRATEGY_LIST_RESPONSE, nullable={"expiry"}
    )

    # Campaigns, both ways.
    res = api.post(
        "/umm/ecm/campaign/createCampaign", seed.create_campaign_request(sid)
    )
    assert res.status_code == 201
    seed.assert_seed_shape(res.get_json(), seed.CAMPAIGN_RESPONSE)
    cid = int(res.get_json()["id"])
    res = api.post(
        "/umm/ecm/campaign/createCampaignBySkilllGroup", seed.skill_group_request(sid)
    )
    assert res.status_code == 200
    seed.assert_seed_shape(
        res.get_json(),
        seed.SKILL_GROUP_RESPONSE,
        nullable={"ciscoCampaignId", "ciscoCampaignName", "smsTemplate"},
    )
    skill_cid = int(res.get_json()["id"])
    res = api.get("/umm/ecm/campaign")
    assert res.headers["X-Total-Count"] == "2"
    seed.assert_seed_shape(
        res.get_json(),
        [seed.CAMPAIGN_RESPONSE],
        nullable={"ciscoCampaignId", "ciscoCampaignName", "smsTemplate", "description"},
    )

    # Contacts: one by insertCallback, one by the seed's bulk file.
    res = api.post(
        "/umm/ecm/callback/insertCallback", seed.insert_callback_request(cid)
    )
    assert res.status_code == 200
    assert res.get_json()["statusString"] == "callback data saved"
    res = upload(
        api,
        "/umm/ecm/callback/uploadBulkCaller",
        b"0300948984,,,,,businessParam1\n",
        campaignId=str(cid),
    )
    assert res.status_code == 200
    assert res.get_json()["message"] == "File is uploaded"
    contacts_upload = res.get_json()["uploadId"]

    # DNC: one by save, one by the bulk CSV.
    res = api.post("/umm/ecm/contact/save", seed.DNC_SAVE_REQUEST)
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.DNC_ENTRY_RESPONSE)
    eid = res.get_json()["id"]
    res = upload(api, "/umm/ecm/contact/uploadCsv", b"+14155550177,Someone\n")
    assert res.status_code == 200
    dnc_upload = res.get_json()["uploadId"]

    # The worker imports both files.
    run_worker(redis_app)
    for upload_id in (contacts_upload, dnc_upload):
        status = api.get(f"/umm/ecm/upload/{upload_id}").get_json()
        assert (status["state"], status["accepted"], status["rejected"]) == (
            "done",
            1,
            0,
        )
    res = api.get(f"/umm/ecm/callback/getList?campaignId={cid}")
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(
        body, seed.CALLBACK_LIST_RESPONSE, nullable=seed.OPTIONAL_CONTACT_FIELDS
    )
    assert body["total"] == 2
    assert {c["phone1"] for c in body["callbackData"]} == {"+14155550101", "0300948984"}
    bulk_row = next(c for c in body["callbackData"] if c["phone1"] == "0300948984")
    assert bulk_row["businessParam1"] == "businessParam1", "the seed's own example row"
    res = api.get("/umm/ecm/contact")
    assert res.headers["X-Total-Count"] == "2"
    seed.assert_seed_shape(res.get_json(), [seed.DNC_ENTRY_RESPONSE], nullable={"name"})

    # Preferences.
    res = api.post("/umm/ecm/preferenceSettings/save", seed.PREFERENCES_SAVE_REQUEST)
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.PREFERENCES_RESPONSE)
    pid = res.get_json()["id"]
    res = api.post("/umm/ecm/preferenceSettings")
    assert res.status_code == 200 and res.get_json()["password"] == "********"

    # Updates.
    res = api.put("/umm/ecm/campaign/update", seed.update_campaign_request(cid))
    assert res.status_code == 200 and res.get_json()["name"] == "updated name"
    seed.assert_seed_shape(res.get_json(), seed.CAMPAIGN_RESPONSE)
    res = api.post("/umm/ecm/campaign/campaignUpdateStatus", {"id": cid, "status": 0})
    assert res.get_json() == {"message": f"Campaign with id {cid} successfully paused"}
    res = api.post("/umm/ecm/contact/update", seed.dnc_update_request(eid))
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.DNC_ENTRY_RESPONSE)
    res = api.post("/umm/ecm/callStrategy/updateName", seed.update_name_request(sid))
    assert res.status_code == 200
    res = api.post(
        "/umm/ecm/callStrategyAttempt/update", seed.attempt_update_request(sid, first)
    )
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.ATTEMPT_UPDATE_RESPONSE)
    res = api.post(
        "/umm/ecm/callStrategyAttempt/updateOrder",
        seed.update_order_request([(second, 1), (first, 2)]),
    )
    assert res.status_code == 200
    assert [a["id"] for a in res.get_json()["callAttempts"]] == [second, first]
    res = api.post(
        "/umm/ecm/preferenceSettings/update", seed.preferences_update_request(pid)
    )
    assert res.status_code == 200
    seed.assert_seed_shape(res.get_json(), seed.PREFERENCES_RESPONSE)

    # Deletes, each with the seed's method.
    res = api.delete(f"/umm/ecm/contact/delete?id={eid}")
    assert (res.status_code, res.get_data()) == (204, b"")
    res = api.post(f"/umm/ecm/callStrategyAttempt/delete?id={second}")
    assert res.status_code == 200
    res = api.post(f"/umm/ecm/callStrategy/delete?id={sid}")
    assert res.status_code == 406, "still used by both campaigns"
    for campaign in (cid, skill_cid):
        assert api.delete(f"/umm/ecm/campaign/delete?id={campaign}").status_code == 200
    assert api.get("/umm/ecm/callback/getList").get_json()["total"] == 0
    assert api.post(f"/umm/ecm/callStrategy/delete?id={sid}").status_code == 200
    assert api.post(f"/umm/ecm/preferenceSettings/delete?id={pid}").status_code == 200
    assert api.get("/umm/ecm/campaign").get_json() == []
    assert api.get("/umm/ecm/callStrategy").get_json() == []

    # And out.
    assert api.post("/umm/api/logout").status_code == 200
    assert api.get("/umm/ecm/campaign").status_code == 401
