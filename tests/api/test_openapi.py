"""/umm/openapi.json documents every registered endpoint, and our answers fit it."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from portal.api.core import ENDPOINTS
from tests.api import seed_examples as seed


@pytest.fixture
def document(client, app):
    res = client.get("/umm/openapi.json")
    assert res.status_code == 200
    return res.get_json()


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_endpoint_and_method_is_documented(document):
    assert document["openapi"].startswith("3.")
    for ep in ENDPOINTS:
        item = document["paths"][openapi_path(ep.rule)]
        for method in ep.methods:
            op = item[method.lower()]
            assert op["summary"] and op["responses"]
            assert ("security" in op) == ep.auth
            assert str(ep.status) in op["responses"]


def test_the_error_shape_is_documented_for_every_operation(document):
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message"]
    for item in document["paths"].values():
        for op in item.values():
            assert "406" in op["responses"] and "400" in op["responses"]


def _validator(document, schema):
    """A validator whose #/components/... references resolve in the document."""
    registry = Registry().with_resource("urn:ecm-openapi", Resource.opaque(document))
    return Draft202012Validator(_rebase(schema), registry=registry)


def _rebase(schema):
    if isinstance(schema, dict):
        return {
            k: "urn:ecm-openapi" + v
            if k == "$ref" and v.startswith("#/")
            else _rebase(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def _check(document, method: str, rule: str, res) -> None:
    op = document["paths"][openapi_path(rule)][method.lower()]
    documented = op["responses"].get(str(res.status_code))
    assert documented is not None, (
        f"{method} {rule} answered undocumented {res.status_code}"
    )
    if res.status_code == 204:
        return
    schema = documented["content"]["application/json"]["schema"]
    errors = list(_validator(document, schema).iter_errors(res.get_json()))
    assert errors == [], f"{method} {rule}: {[e.message for e in errors][:3]}"


def test_answers_to_the_seed_examples_fit_the_documented_schemas(document, api):
    def call(method, rule, path=None, body=None):
        res = api.call(method, path or rule, body)
        _check(document, method, rule, res)
        return res.get_json()

    sid = call("POST", "/umm/ecm/callStrategy/save", body=seed.STRATEGY_SAVE_REQUEST)[
        "id"
    ]
    aid = call(
        "POST", "/umm/ecm/callStrategyAttempt/save", body=seed.attempt_save_request(sid)
    )["id"]
    call(
        "POST",
        "/umm/ecm/callStrategyAttempt/update",
        body=seed.attempt_update_request(sid, aid),
    )
    call(
        "GET",
        "/umm/ecm/callStrategyAttempt",
        f"/umm/ecm/callStrategyAttempt?csId={sid}",
    )
    call("GET", "/umm/ecm/callStrategy")
    cid = call(
        "POST",
        "/umm/ecm/campaign/createCampaign",
        body=seed.create_campaign_request(sid),
    )["id"]
    call(
        "POST",
        "/umm/ecm/campaign/createCampaignBySkilllGroup",
        body=seed.skill_group_request(sid),
    )
    call("PUT", "/umm/ecm/campaign/update", body=seed.update_campaign_request(int(cid)))
    call("GET", "/umm/ecm/campaign")
    call("GET", "/umm/ecm/campaign/fetchCiscoCampaigns")
    call(
        "POST", "/umm/ecm/campaign/campaignUpdateStatus", body={"id": cid, "status": 0}
    )
    call(
        "POST",
        "/umm/ecm/callback/insertCallback",
        body=seed.insert_callback_request(int(cid)),
    )
    call("POST", "/umm/ecm/callback/getList", body={"campaignId": cid})
    eid = call("POST", "/umm/ecm/contact/save", body=seed.DNC_SAVE_REQUEST)["id"]
    call("POST", "/umm/ecm/contact/update", body=seed.dnc_update_request(eid))
    call("GET", "/umm/ecm/contact")
    pid = call(
        "POST", "/umm/ecm/preferenceSettings/save", body=seed.PREFERENCES_SAVE_REQUEST
    )["id"]
    call("POST", "/umm/ecm/preferenceSettings")
    call(
        "POST",
        "/umm/ecm/preferenceSettings/update",
        body=seed.preferences_update_request(pid),
    )
    call(
        "POST",
        "/umm/ecm/callStrategyAttempt/updateOrder",
        body=seed.update_order_request([(aid, 1)]),
    )
    call("POST", "/umm/ecm/campaign/createCampaign", body={"name": ""})  # a 406
    call("DELETE", "/umm/ecm/contact/delete", f"/umm/ecm/contact/delete?id={eid}")
    call(
        "POST",
        "/umm/ecm/callStrategyAttempt/delete",
        f"/umm/ecm/callStrategyAttempt/delete?id={aid}",
    )
    call("DELETE", "/umm/ecm/campaign/delete", f"/umm/ecm/campaign/delete?id={cid}")
    call(
        "POST",
        "/umm/ecm/preferenceSettings/delete",
        f"/umm/ecm/preferenceSettings/delete?id={pid}",
    )
    call("POST", "/umm/api/logout")


def test_login_answer_fits_its_schema(document, client, app):
    res = client.post("/umm/api/login", json=seed.LOGIN_REQUEST)
    _check(document, "POST", "/umm/api/login", res)
    res = client.post(
        "/umm/oauth/access_token",
        data={"refresh_token": res.get_json()["refresh_token"]},
    )
    _check(document, "POST", "/umm/oauth/access_token", res)
