"""SPEC §2: each quirk of the seed, resolved the way the table says, one test each."""

from __future__ import annotations

import pytest

from tests.api import seed_examples as seed
from tests.conftest import Api, login_token, make_user

# -- helpers ----------------------------------------------------------------------


def strategy_id(api, name: str = "S") -> int:
    return api.post("/umm/ecm/callStrategy/save", {"name": name}).get_json()["id"]


def attempt_id(api, sid: int, name: str = "A") -> int:
    res = api.post("/umm/ecm/callStrategyAttempt/save", {"csId": sid, "name": name})
    assert res.status_code == 200, res.get_json()
    return res.get_json()["id"]


def campaign_id(api, sid: int, name: str = "C", **extra) -> int:
    res = api.post(
        "/umm/ecm/campaign/createCampaign", {"name": name, "strategyId": sid, **extra}
    )
    assert res.status_code == 201, res.get_json()
    return int(res.get_json()["id"])


def dnc_id(api, number: str = "+14155550100") -> int:
    return api.post("/umm/ecm/contact/save", {"primaryNumber": number}).get_json()["id"]


def prefs_id(api) -> int:
    return api.post(
        "/umm/ecm/preferenceSettings/save", {"campaignBatchSize": 5}
    ).get_json()["id"]


def assert_error(res, status: int, error: str) -> dict:
    assert res.status_code == status, res.get_data(as_text=True)
    assert res.mimetype == "application/json"
    body = res.get_json()
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- login, refresh, logout --------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_login_accepts_get_and_post_with_a_json_body(client, app, method):
    res = client.open("/umm/api/login", method=method, json=seed.LOGIN_REQUEST)
    assert res.status_code == 200
    body = res.get_json()
    seed.assert_seed_shape(body, seed.LOGIN_RESPONSE)
    assert Api(client, body["token"]).get("/umm/ecm/campaign").status_code == 200


def test_login_with_wrong_password_is_401_in_the_error_shape(client, app):
    res = client.post("/umm/api/login", json={"username": "admin", "password": "nope"})
    assert_error(res, 401, "unauthorized")
    res = client.post("/umm/api/login", json={"username": "ghost", "password": "nope"})
    assert_error(res, 401, "unauthorized")


def _login(client) -> dict:
    return client.post("/umm/api/login", json=seed.LOGIN_REQUEST).get_json()


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_refresh_rotates_the_pair_and_revokes_the_old_refresh_token(
    client, app, encoding
):
    first = _login(client)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    kwargs = {"data": data} if encoding == "form" else {"json": data}
    res = client.post("/umm/oauth/access_token", **kwargs)
    assert res.status_code == 200
    second = res.get_json()
    assert second["token_type"] == "Bearer" and second["expires_in"] == 36000
    assert second["refresh_token"] != first["refresh_token"]
    assert Api(client, second["token"]).get("/umm/ecm/campaign").status_code == 200
    again = client.post("/umm/oauth/access_token", **kwargs)
    assert_error(again, 401, "unauthorized")


def test_reusing_a_revoked_refresh_token_revokes_its_whole_family(client, app):
    first = _login(client)
    second = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    ).get_json()
    reuse = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert reuse.status_code == 401
    # the thief's re-use ended the family: the legitimate newer token is dead too
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
    )
    assert_error(res, 401, "unauthorized")
    # another login (another family) is untouched
    other = _login(client)
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": other["refresh_token"]},
    )
    assert res.status_code == 200


def test_refresh_refuses_another_grant_type_and_an_access_token(client, app):
    first = _login(client)
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "password", "refresh_token": first["refresh_token"]},
    )
    assert_error(res, 406, "not_acceptable")
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": first["token"]},
    )
    assert_error(res, 401, "unauthorized")


def test_logout_revokes_the_access_token_and_the_refresh_family(client, app):
    tokens = _login(client)
    api = Api(client, tokens["token"])
    res = api.post("/umm/api/logout", {"refresh_token": tokens["refresh_token"]})
    assert res.status_code == 200
    assert "logged out" in res.get_json()["message"]
    assert_error(api.get("/umm/ecm/campaign"), 401, "unauthorized")
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert_error(res, 401, "unauthorized")


def test_logout_without_refresh_token_leaves_other_sessions(client, app):
    one, two = _login(client), _login(client)
    Api(client, one["token"]).post("/umm/api/logout")
    assert Api(client, one["token"]).get("/umm/ecm/campaign").status_code == 401
    assert Api(client, two["token"]).get("/umm/ecm/campaign").status_code == 200


# -- campaigns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/umm/ecm/campaign/createCampaignBySkilllGroup",
        "/umm/ecm/campaign/createCampaignBySkillGroup",
    ],
)
def test_both_skill_group_spellings_create_a_campaign(api, path):
    sid = strategy_id(api)
    res = api.post(path, seed.skill_group_request(sid))
    assert res.status_code == 200
    assert res.get_json()["skillGroup"] == "skillGroupName"
    res = api.post(
        path, {**seed.skill_group_request(sid), "name": "x", "skillGroup": None}
    )
    assert assert_error(res, 406, "not_acceptable")["fields"] == {
        "skillGroup": "is required"
    }


def test_start_time_and_week_days_accept_the_seed_spellings_and_answer_ours(api):
    sid = strategy_id(api)
    res = api.post(
        "/umm/ecm/campaign/createCampaign",
        {
            "name": "Seedish",
            "strategyId": sid,
            "startTIme": "08:30",
            "endTime": "17:00",
            "weekdays": "1,2,3",
        },
    )
    assert res.status_code == 201
    body = res.get_json()
    assert body["startTime"] == "08:30" and "startTIme" not in body
    assert body["weekDays"] == body["weekdays"] == "1,2,3"
    res = api.put(
        "/umm/ecm/campaign/update",
        {"id": body["id"], "startTIme": "09:00", "weekdays": "0,6"},
    )
    assert (res.get_json()["startTime"], res.get_json()["weekDays"]) == ("09:00", "0,6")
    res = api.put(
        "/umm/ecm/campaign/update",
        {"id": body["id"], "startTime": "10:00", "weekDays": "5"},
    )
    assert (res.get_json()["startTime"], res.get_json()["weekDays"]) == ("10:00", "5")


def test_campaign_numbers_in_responses_are_strings_and_inputs_take_either(api):
    sid = strategy_id(api)
    as_text = api.post(
        "/umm/ecm/campaign/createCampaign",
        {"name": "text", "strategyId": str(sid), "status": "0", "type": "1"},
    ).get_json()
    as_numbers = api.post(
        "/umm/ecm/campaign/createCampaign",
        {"name": "numbers", "strategyId": sid, "status": 0, "type": 1},
    ).get_json()
    for body in (as_text, as_numbers):
        assert (body["strategyId"], body["status"], body["type"]) == (
            str(sid),
            "0",
            "1",
        )
        assert isinstance(body["id"], str)
        assert seed.ISO_UTC.match(body["dateCreated"]) and seed.ISO_UTC.match(
            body["lastUpdated"]
        )


@pytest.mark.parametrize(
    ("status", "verb", "stored"),
    [
        (0, "paused", 0),
        (1, "resumed", 1),
        ("0", "paused", 0),
        ("1", "resumed", 1),
        ("pause", "paused", 0),
        ("resume", "resumed", 1),
        ("PAUSE", "paused", 0),
    ],
)
def test_pause_and_resume_accept_numbers_and_words(api, status, verb, stored):
    sid = strategy_id(api)
    cid = campaign_id(api, sid, status=1 - stored)
    res = api.post(
        "/umm/ecm/campaign/campaignUpdateStatus", {"id": cid, "status": status}
    )
    assert res.status_code == 200
    assert res.get_json() == {"message": f"Campaign with id {cid} successfully {verb}"}
    listed = api.get("/umm/ecm/campaign").get_json()[0]
    assert listed["status"] == str(stored)


def test_pause_refuses_other_values(api):
    cid = campaign_id(api, strategy_id(api))
    res = api.post(
        "/umm/ecm/campaign/campaignUpdateStatus", {"id": cid, "status": "stop"}
    )
    assert set(assert_error(res, 406, "not_acceptable")["fields"]) == {"status"}


def test_campaign_type_cannot_change(api):
    cid = campaign_id(api, strategy_id(api), type=0)
    res = api.put("/umm/ecm/campaign/update", {"id": cid, "type": 2})
    body = assert_error(res, 406, "not_acceptable")
    assert "type" in body["fields"]
    assert (
        api.put("/umm/ecm/campaign/update", {"id": cid, "type": "0"}).status_code == 200
    )


# -- strategies and attempts ----------------------------------------------------------


def test_get_strategy_attempts_by_query_string(api):
    sid = strategy_id(api)
    first, second = attempt_id(api, sid, "one"), attempt_id(api, sid, "two")
    res = api.get(f"/umm/ecm/callStrategyAttempt?csId={sid}")
    assert res.status_code == 200
    assert [a["id"] for a in res.get_json()] == [first, second]
    assert [a["attemptNumber"] for a in res.get_json()] == [1, 2]
    assert_error(api.get("/umm/ecm/callStrategyAttempt"), 406, "not_acceptable")
    assert_error(api.get("/umm/ecm/callStrategyAttempt?csId=999"), 404, "not_found")


def test_post_to_the_attempt_save_url_creates(api):
    sid = strategy_id(api)
    res = api.post("/umm/ecm/callStrategyAttempt/save", seed.attempt_save_request(sid))
    assert res.status_code == 200 and res.get_json()["csId"] == sid


@pytest.mark.parametrize("key", ["id", "csAttempt"])
def test_attempt_update_names_the_attempt_by_id_or_cs_attempt(api, key):
    sid = strategy_id(api)
    aid = attempt_id(api, sid)
    res = api.post(
        "/umm/ecm/callStrategyAttempt/update",
        {key: aid, "name": "Renamed", "phone": "2", "channel": 1},
    )
    assert res.status_code == 200
    body = res.get_json()
    assert (body["id"], body["name"], body["phone"], body["channel"]) == (
        aid,
        "Renamed",
        "2",
        1,
    )
    res = api.post("/umm/ecm/callStrategyAttempt/update", {"name": "nobody"})
    assert "id" in assert_error(res, 406, "not_acceptable")["fields"]


def test_attempt_update_prefers_id_over_cs_attempt(api):
    sid = strategy_id(api)
    first, second = attempt_id(api, sid, "one"), attempt_id(api, sid, "two")
    res = api.post(
        "/umm/ecm/callStrategyAttempt/update",
        {"id": second, "csAttempt": first, "name": "picked"},
    )
    assert res.get_json()["id"] == second


@pytest.mark.parametrize(
    "shape",
    ["seed", "list", "data", "string", "bare-list"],
)
def test_update_order_accepts_the_shapes_integrations_send(api, shape):
    sid = strategy_id(api)
    a, b, c = (attempt_id(api, sid, n) for n in "abc")
    items = [{"atId": c, "index": 1}, {"atId": a, "index": 2}, {"atId": b, "index": 3}]
    import json

    payload = {
        "seed": {"idIndexJson": {"data": items}},
        "list": {"idIndexJson": items},
        "data": {"data": items},
        "string": {"idIndexJson": json.dumps({"data": items})},
        "bare-list": items,
    }[shape]
    res = api.post("/umm/ecm/callStrategyAttempt/updateOrder", payload)
    assert res.status_code == 200, res.get_json()
    assert [x["id"] for x in res.get_json()["callAttempts"]] == [c, a, b]
    listed = api.get(f"/umm/ecm/callStrategyAttempt?csId={sid}").get_json()
    assert [(x["id"], x["attemptNumber"]) for x in listed] == [(c, 1), (a, 2), (b, 3)]


# -- preferences -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_preferences_read_with_get_or_post(api, method):
    assert_error(api.call(method, "/umm/ecm/preferenceSettings"), 404, "not_found")
    pid = prefs_id(api)
    res = api.call(method, "/umm/ecm/preferenceSettings")
    assert res.status_code == 200 and res.get_json()["id"] == pid


def test_preferences_password_is_masked_and_the_mask_keeps_it(api, app):
    from portal.services import preferences

    saved = api.post(
        "/umm/ecm/preferenceSettings/save",
        {**seed.PREFERENCES_SAVE_REQUEST, "password": "s3cret"},
    ).get_json()
    assert saved["password"] == "********"
    assert api.get("/umm/ecm/preferenceSettings").get_json()["password"] == "********"
    res = api.post(
        "/umm/ecm/preferenceSettings/update",
        {"id": saved["id"], "password": "********", "ivrBatchSize": 7},
    )
    assert res.get_json()["password"] == "********"
    with app.app_context():
        assert preferences.current().password == "s3cret"
        assert preferences.current().ivr_batch_size == 7
    api.post(
        "/umm/ecm/preferenceSettings/update", {"id": saved["id"], "password": "n3w"}
    )
    with app.app_context():
        assert preferences.current().password == "n3w"
    api.post(
        "/umm/ecm/preferenceSettings/update", {"id": saved["id"], "password": None}
    )
    assert api.get("/umm/ecm/preferenceSettings").get_json()["password"] is None


def test_preferences_are_one_row_saved_twice_is_an_update(api):
    first = api.post(
        "/umm/ecm/preferenceSettings/save", {"campaignBatchSize": 5}
    ).get_json()
    second = api.post(
        "/umm/ecm/preferenceSettings/save", {"ivrBatchSize": 6}
    ).get_json()
    assert first["id"] == second["id"]
    assert (second["campaignBatchSize"], second["ivrBatchSize"]) == (5, 6)
    res = api.post(
        "/umm/ecm/preferenceSettings/update", {"id": first["id"] + 1, "ivrBatchSize": 1}
    )
    assert_error(res, 404, "not_found")


# -- DNC --------------------------------------------------------------------------


def test_dnc_delete_answers_204_with_no_body(api):
    eid = dnc_id(api)
    res = api.delete(f"/umm/ecm/contact/delete?id={eid}")
    assert res.status_code == 204
    assert res.get_data() == b""
    assert_error(api.delete(f"/umm/ecm/contact/delete?id={eid}"), 404, "not_found")


def test_dnc_entries_carry_both_date_spellings(api):
    dnc_id(api)
    entry = api.get("/umm/ecm/contact").get_json()[0]
    assert entry["dataCreated"] == entry["dateCreated"]
    assert seed.ISO_UTC.match(entry["dateCreated"])


# -- errors ------------------------------------------------------------------------


def test_validation_failure_is_406_with_fields(api):
    res = api.post(
        "/umm/ecm/campaign/createCampaign",
        {"name": "", "strategyId": "x", "startTime": "25:00", "weekDays": "7"},
    )
    body = assert_error(res, 406, "not_acceptable")
    assert set(body) == {"error", "message", "fields"}
    assert {"name", "strategyId", "startTime", "weekDays"} <= set(body["fields"])
    assert all(isinstance(v, str) for v in body["fields"].values())


def test_unknown_fields_are_refused_not_ignored(api):
    res = api.post("/umm/ecm/callStrategy/save", {"name": "x", "isAdmin": True})
    assert assert_error(res, 406, "not_acceptable")["fields"] == {
        "isAdmin": "unknown field"
    }


@pytest.mark.parametrize("raw", [b"{", b'{"name": "x",}', b"[1, 2", b"\xff\xfe"])
def test_malformed_json_is_400(api, raw):
    res = api.post(
        "/umm/ecm/callStrategy/save", data=raw, content_type="application/json"
    )
    assert_error(res, 400, "bad_request")


def test_a_json_array_where_an_object_belongs_is_406(api):
    res = api.post("/umm/ecm/callStrategy/save", [{"name": "x"}])
    assert assert_error(res, 406, "not_acceptable")["fields"] == {
        "body": "must be a JSON object"
    }


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer not-a-jwt",
        "Token abc",
    ],
)
def test_missing_or_bad_token_is_401(client, app, header):
    headers = {"Authorization": header} if header is not None else {}
    res = client.get("/umm/ecm/campaign", headers=headers)
    assert_error(res, 401, "unauthorized")


def test_wrong_role_is_403(viewer_api):
    res = viewer_api.post("/umm/ecm/callStrategy/save", {"name": "x"})
    assert_error(res, 403, "forbidden")
    assert viewer_api.get("/umm/ecm/callStrategy").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("PUT", "/umm/ecm/campaign/update", {"id": 999, "name": "x"}),
        ("DELETE", "/umm/ecm/campaign/delete?id=999", None),
        ("POST", "/umm/ecm/campaign/campaignUpdateStatus", {"id": 999, "status": 1}),
        ("POST", "/umm/ecm/contact/update", {"id": 999, "name": "x"}),
        ("DELETE", "/umm/ecm/contact/delete?id=999", None),
        ("POST", "/umm/ecm/callStrategy/updateName", {"csId": 999, "name": "x"}),
        ("POST", "/umm/ecm/callStrategy/delete?id=999", None),
        ("POST", "/umm/ecm/callStrategyAttempt/save", {"csId": 999}),
        ("POST", "/umm/ecm/callStrategyAttempt/update", {"id": 999, "name": "x"}),
        ("POST", "/umm/ecm/callStrategyAttempt/delete?id=999", None),
        (
            "POST",
            "/umm/ecm/callStrategyAttempt/updateOrder",
            {"idIndexJson": {"data": [{"atId": 999, "index": 1}]}},
        ),
        ("POST", "/umm/ecm/preferenceSettings/delete?id=999", None),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": 999, "phone1": "+14155550100"},
        ),
        ("GET", "/umm/ecm/callback/getList?campaignId=999", None),
    ],
)
def test_unknown_id_is_404(api, method, path, payload):
    assert_error(api.call(method, path, payload), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/umm/ecm/campaign/createCampaign"),
        ("PATCH", "/umm/ecm/campaign"),
        ("DELETE", "/umm/ecm/callStrategy"),
        ("GET", "/umm/ecm/contact/delete"),
        ("PUT", "/umm/api/login"),
    ],
)
def test_wrong_method_is_405_in_json(api, method, path):
    res = api.call(method, path)
    assert_error(res, 405, "method_not_allowed")
    assert res.headers["Allow"]


def test_unknown_path_is_404_in_json(api):
    assert_error(api.get("/umm/ecm/nothing-here"), 404, "not_found")


# -- deletes: the seed's method and DELETE, id in the query string or the body --------


def _make(api, resource: str) -> tuple[str, str, int]:
    """(seed method, path, id) of a fresh deletable row."""
    if resource == "campaign":
        return "DELETE", "/umm/ecm/campaign/delete", campaign_id(api, strategy_id(api))
    if resource == "dnc":
        return "DELETE", "/umm/ecm/contact/delete", dnc_id(api)
    if resource == "strategy":
        return "POST", "/umm/ecm/callStrategy/delete", strategy_id(api)
    if resource == "attempt":
        return (
            "POST",
            "/umm/ecm/callStrategyAttempt/delete",
            attempt_id(api, strategy_id(api)),
        )
    return "POST", "/umm/ecm/preferenceSettings/delete", prefs_id(api)


def _exists(api, resource: str, rid: int) -> bool:
    if resource == "campaign":
        return any(int(c["id"]) == rid for c in api.get("/umm/ecm/campaign").get_json())
    if resource == "dnc":
        return any(e["id"] == rid for e in api.get("/umm/ecm/contact").get_json())
    if resource == "strategy":
        return any(s["id"] == rid for s in api.get("/umm/ecm/callStrategy").get_json())
    if resource == "attempt":
        return any(
            a["id"] == rid
            for s in api.get("/umm/ecm/callStrategy").get_json()
            for a in s["callAttempts"]
        )
    return api.get("/umm/ecm/preferenceSettings").status_code == 200


@pytest.mark.parametrize(
    "resource", ["campaign", "dnc", "strategy", "attempt", "preferences"]
)
@pytest.mark.parametrize(
    ("use_delete", "where"),
    [(False, "query"), (False, "body"), (True, "query"), (True, "body")],
)
def test_delete_with_seed_method_or_delete_and_id_in_query_or_body(
    api, resource, use_delete, where
):
    seed_method, path, rid = _make(api, resource)
    method = "DELETE" if use_delete else seed_method
    if where == "query":
        res = api.call(method, f"{path}?id={rid}")
    else:
        res = api.call(method, path, {"id": str(rid)})
    assert res.status_code == (204 if resource == "dnc" else 200), res.get_data(
        as_text=True
    )
    assert not _exists(api, resource, rid)
    assert_error(api.call(method, path), 406, "not_acceptable")


def test_strategy_delete_is_refused_while_a_campaign_uses_it(api):
    sid = strategy_id(api)
    campaign_id(api, sid, name="User")
    res = api.post(f"/umm/ecm/callStrategy/delete?id={sid}")
    body = assert_error(res, 406, "not_acceptable")
    assert "User" in body["fields"]["id"]


def test_campaign_delete_removes_its_contacts(api, app):
    from portal.extensions import db
    from portal.models import Contact

    cid = campaign_id(api, strategy_id(api))
    api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": cid, "phone1": "+14155550100"},
    )
    api.delete(f"/umm/ecm/campaign/delete?id={cid}")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Contact)) == 0


# -- list paging -------------------------------------------------------------------


def _names(res) -> list[str]:
    return [x["name"] for x in res.get_json()]


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("campaign", "/umm/ecm/campaign"),
        ("dnc", "/umm/ecm/contact"),
        ("strategy", "/umm/ecm/callStrategy"),
    ],
)
def test_lists_page_with_max_offset_or_page_size_and_count_in_a_header(
    api, resource, path
):
    sid = strategy_id(api, "n0") if resource != "strategy" else None
    for n in range(1, 6):
        if resource == "campaign":
            campaign_id(api, sid, name=f"n{n}")
        elif resource == "dnc":
            api.post(
                "/umm/ecm/contact/save",
                {"primaryNumber": f"+1415555010{n}", "name": f"n{n}"},
            )
        else:
            strategy_id(api, f"n{n}")
    everything = api.get(path)
    assert everything.headers["X-Total-Count"] == "5"
    assert isinstance(everything.get_json(), list), "a bare array, as the seed"
    res = api.get(f"{path}?max=2&offset=1")
    assert (_names(res), res.headers["X-Total-Count"]) == (["n2", "n3"], "5")
    res = api.get(f"{path}?page=1&size=2")
    assert (_names(res), res.headers["X-Total-Count"]) == (["n3", "n4"], "5")
    res = api.get(f"{path}?page=2&size=2")
    assert _names(res) == ["n5"]
    res = api.get(f"{path}?offset=10")
    assert (_names(res), res.headers["X-Total-Count"]) == ([], "5")
    for bad in ("max=0", "max=10001", "offset=-1", "page=x", "size=0"):
        assert_error(api.get(f"{path}?{bad}"), 406, "not_acceptable")


# -- getList ----------------------------------------------------------------------


@pytest.fixture
def contacts_api(api, app):
    """Two campaigns; campaign 1 has 3 contacts (one of them closed), campaign 2 one."""
    from portal.extensions import db
    from portal.models import Contact

    sid = strategy_id(api)
    attempt_id(api, sid)
    one, two = campaign_id(api, sid, "one"), campaign_id(api, sid, "two")
    for n in range(3):
        api.post(
            "/umm/ecm/callback/insertCallback",
            {"campaignId": one, "phone1": f"+1415555020{n}"},
        )
    api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": two, "phone1": "+14155550200"},
    )
    with app.app_context():
        row = db.session.scalars(db.select(Contact).order_by(Contact.id)).first()
        row.request_state, row.call_result = 2, 10
        db.session.commit()
    api.campaigns = (one, two)
    return api


@pytest.mark.parametrize("via", ["query", "json-get", "json-post"])
def test_get_list_filters_from_query_or_json_body_with_total(contacts_api, via):
    one, two = contacts_api.campaigns

    def get_list(**filters):
        if via == "query":
            return contacts_api.get("/umm/ecm/callback/getList", query_string=filters)
        method = "GET" if via == "json-get" else "POST"
        return contacts_api.call(method, "/umm/ecm/callback/getList", filters)

    body = get_list(campaignId=one).get_json()
    assert (len(body["callbackData"]), body["total"]) == (3, 3)
    body = get_list(campaignId=one, requestState=0).get_json()
    assert body["total"] == 2
    body = get_list(callResult=10).get_json()
    assert body["total"] == 1 and body["callbackData"][0]["requestState"] == 2
    body = get_list(phone="(415) 555-0200").get_json()
    assert body["total"] == 2, "the number matches by its E.164 key across campaigns"
    body = get_list(campaignId=one, page=1, size=2).get_json()
    assert (len(body["callbackData"]), body["total"]) == (1, 3)
    body = get_list(campaignId=one, max=1, offset=1).get_json()
    assert len(body["callbackData"]) == 1 and body["total"] == 3
    assert get_list(size=1001).status_code == 406
    assert get_list(requestState=9).status_code == 406


def test_get_list_json_body_wins_over_the_query_string(contacts_api):
    one, two = contacts_api.campaigns
    res = contacts_api.post(
        f"/umm/ecm/callback/getList?campaignId={one}", {"campaignId": two}
    )
    assert res.get_json()["total"] == 1


def test_get_list_keyset_pages_with_after_id(contacts_api):
    first = contacts_api.get("/umm/ecm/callback/getList?size=2").get_json()
    last_id = first["callbackData"][-1]["id"]
    rest = contacts_api.get(f"/umm/ecm/callback/getList?afterId={last_id}").get_json()
    assert [c["id"] > last_id for c in rest["callbackData"]] == [True, True]
    assert rest["total"] is None, "keyset pages skip the count"


# -- contacts ----------------------------------------------------------------------


def test_insert_callback_dial_time_is_read_in_the_campaigns_time_zone(api, app):
    from portal.extensions import db
    from portal.models import Contact

    cid = campaign_id(api, strategy_id(api), timeZone="America/New_York")
    api.post(
        "/umm/ecm/callback/insertCallback",
        {
            "campaignId": cid,
            "phone1": "+14155550100",
            "dialTime": "2024-01-15 09:00:00",
        },
    )
    with app.app_context():
        stored = db.session.scalars(db.select(Contact)).one().dial_time
    assert stored.strftime("%Y-%m-%d %H:%M:%S") == "2024-01-15 14:00:00", "naive UTC"
    row = api.get(f"/umm/ecm/callback/getList?campaignId={cid}").get_json()[
        "callbackData"
    ][0]
    assert row["dialTime"] == "2024-01-15 09:00:00", "answered in the campaign's zone"


def test_insert_callback_deny_duplicates(api):
    cid = campaign_id(api, strategy_id(api))
    body = {
        "campaignId": cid,
        "phone1": "+1 415 555 0100",
        "duplicateCallbacks": "deny",
    }
    assert api.post("/umm/ecm/callback/insertCallback", body).status_code == 200
    res = api.post("/umm/ecm/callback/insertCallback", {**body, "phone1": "4155550100"})
    assert "phone1" in assert_error(res, 406, "not_acceptable")["fields"]
    body["duplicateCallbacks"] = "allow"
    assert api.post("/umm/ecm/callback/insertCallback", body).status_code == 200


def test_insert_callback_on_dnc_is_kept_but_blocked(api):
    cid = campaign_id(api, strategy_id(api))
    dnc_id(api, "+14155550100")
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        {"campaignId": cid, "phone1": "415-555-0100"},
    )
    assert res.status_code == 200
    assert res.get_json()["requestState"] == 5
    row = api.get(f"/umm/ecm/callback/getList?campaignId={cid}").get_json()[
        "callbackData"
    ][0]
    assert (row["requestState"], row["callResult"]) == (5, 26)


def test_the_supervisor_cannot_write_preferences_but_can_read_them(api, supervisor_api):
    prefs_id(api)
    assert supervisor_api.get("/umm/ecm/preferenceSettings").status_code == 200
    res = supervisor_api.post("/umm/ecm/preferenceSettings/save", {"ivrBatchSize": 3})
    assert_error(res, 403, "forbidden")


def test_an_inactive_users_token_stops_working(client, app):
    from portal.services import users

    with app.app_context():
        make_user("Supervisor", "temp")
    token = login_token(client, "temp", "password-123")
    with app.app_context():
        from portal.extensions import db
        from portal.models import User

        admin = db.session.scalar(db.select(User).where(User.username == "admin"))
        temp = db.session.scalar(db.select(User).where(User.username == "temp"))
        users.update_user(admin, {"id": temp.id, "active": False})
    assert_error(Api(client, token).get("/umm/ecm/campaign"), 401, "unauthorized")


def test_an_unexpected_failure_is_a_json_500_not_a_html_page(app_factory, monkeypatch):
    from portal.services import campaigns, users

    app = app_factory(PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        users.ensure_admin("admin", is_default=True)
    client = app.test_client()
    api = Api(client, login_token(client, "admin", "admin"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(campaigns, "list_campaigns", broken)
    res = api.get("/umm/ecm/campaign")
    assert_error(res, 500, "internal_error")
    assert "a bug" not in res.get_data(as_text=True), "no internals leak out"


def test_get_list_ignores_unknown_query_parameters_but_refuses_unknown_body_fields(api):
    res = api.get("/umm/ecm/callback/getList?_=1700000000&utm_source=crm")
    assert res.status_code == 200
    assert res.get_json() == {"callbackData": [], "total": 0}
    res = api.post("/umm/ecm/callback/getList", json={"bogus": 1})
    assert res.status_code == 406
    assert res.get_json()["fields"] == {"bogus": "unknown field"}
