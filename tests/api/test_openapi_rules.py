"""The OpenAPI document states the rules the server enforces (issue #17, finding 11).

Each case is a request the schemathesis CLI found refused with 406 although the
document allowed it: now the document's schema refuses it too, and the server still
answers 406. Each neighbour a client would rely on (a formatted number, a null
where null is allowed, an empty optional query value) is allowed by both.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from portal.services import dnc, dnc_lists
from tests.security.builders import new_campaign


@pytest.fixture
def document(client):
    return client.get("/umm/openapi.json").get_json()


def _rebase(schema):
    if isinstance(schema, dict):
        return {
            k: "urn:doc" + v if k == "$ref" and v.startswith("#/") else _rebase(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def allowed(document, schema, value) -> bool:
    registry = Registry().with_resource("urn:doc", Resource.opaque(document))
    validator = Draft202012Validator(
        _rebase(schema),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return validator.is_valid(value)


def body_schema(document, method: str, path: str) -> dict:
    op = document["paths"][path][method.lower()]
    return op["requestBody"]["content"]["application/json"]["schema"]


@pytest.fixture
def records(admin):
    campaign = new_campaign(admin)
    named = dnc_lists.create_list(admin, {"name": "Rules list"})
    entry = dnc.add_entry(admin, {"primaryNumber": "+14155550177"})
    return {"campaign": campaign.id, "strategy": campaign.strategy_id}, named, entry


def cases(ids, named, entry):
    campaign, strategy = ids["campaign"], ids["strategy"]
    return [
        ("PUT", "/umm/ecm/campaign/update", {"id": campaign, "dialOrder": None}),
        ("PUT", "/umm/ecm/campaign/update", {"id": campaign, "weekDays": None}),
        ("PUT", "/umm/ecm/campaign/update", {"id": campaign, "dialOrder": "fast"}),
        ("PUT", "/umm/ecm/campaign/update", {"id": campaign, "restrictedDates": [{}]}),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {"id": campaign, "restrictedDates": [{"name": {}, "date": "2026-12-24"}]},
        ),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {"id": campaign, "restrictedDates": [{"name": True, "date": "2026-12-24"}]},
        ),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {"id": campaign, "holidayCalendars": ["US!"]},
        ),
        ("PUT", "/umm/ecm/dncList/update", {"id": named.id, "channel": None}),
        ("PUT", "/umm/ecm/dncList/update", {"id": named.id, "name": None}),
        ("PUT", "/umm/ecm/contact/update", {"id": entry.id, "primaryNumber": None}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": "00"}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": "12ab345"}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": "1" * 21}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": 1234.5}),
        ("POST", "/umm/ecm/optOut", {"number": 0.0}),
        (
            "POST",
            "/umm/ecm/privacy/erase",
            {"number": "4155550100", "keepSuppressed": 0},
        ),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {"id": campaign, "restrictedDates": [{"date": "2026-12-24", "to": {}}]},
        ),
        ("POST", "/umm/ecm/privacy/erase", {"number": "0" * 63}),
        (
            "POST",
            "/umm/ecm/contact/save",
            {"primaryNumber": "+14155550123", "expiresAt": "1999-06-01T00:00:00Z"},
        ),
        ("POST", "/umm/ecm/callStrategyAttempt/save", {"csId": strategy, "channel": 7}),
        ("POST", "/umm/ecm/callStrategyAttempt/save", {"csId": strategy, "phone": 6}),
        (
            "POST",
            "/umm/ecm/callStrategyAttempt/save",
            {
                "csId": strategy,
                "retryMap": [{"call_result": 2, "attempt_number": 1}] * 2,
            },
        ),
        ("PUT", "/umm/ecm/resultEffects/save", {"callResult": 0, "effect": "none"}),
        ("POST", f"/umm/ecm/campaign/{campaign}/recycle", {"ids": []}),
        ("POST", f"/umm/ecm/campaign/{campaign}/recycle", {"callResults": None}),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "duplicateScope": "x"},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "duplicateCallbacks": 1},
        ),
        # phone1 is required (validate_contact_fields), as a number
        ("POST", "/umm/ecm/callback/insertCallback", {"campaignId": campaign}),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": " "},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": None},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "phone2": "ab"},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "dialTime": -2.3e-166},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "dialTime": "2030-02-30"},
        ),
        # timeZone and region: an IANA zone and an ISO 3166 code, not any text
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "timeZone": -3.5e16},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": campaign, "phone1": "4155550100", "region": "US-XX"},
        ),
    ]


def test_what_the_server_refuses_the_document_forbids(document, api, records):
    for method, path, value in cases(*records):
        rule = path.replace(str(records[0]["campaign"]), "{campaign_id}")
        assert not allowed(document, body_schema(document, method, rule), value), (
            f"the document allows {method} {path} {value}"
        )
        res = api.call(method, path, json=value)
        assert res.status_code == 406, (method, path, value, res.get_json())


def test_what_the_document_allows_the_server_accepts(document, api, records):
    ids, named, entry = records
    accepted = [
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": "+1 (415) 555-0142"}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": 4155550143}),
        ("POST", "/umm/ecm/contact/save", {"primaryNumber": 4155550146.0}),
        ("POST", "/umm/ecm/optOut", {"number": "415.555.0144", "receivedAt": ""}),
        (
            "POST",
            "/umm/ecm/contact/save",
            {"primaryNumber": "+14155550145", "expiresAt": ""},
        ),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {"id": ids["campaign"], "dialOrder": " Due"},
        ),
        ("PUT", "/umm/ecm/dncList/update", {"id": named.id, "campaignId": None}),
        (
            "PUT",
            "/umm/ecm/campaign/update",
            {
                "id": ids["campaign"],
                "holidayCalendars": ["US-FL"],
                "restrictedDates": [
                    "2026-12-24",
                    {"name": "Sale", "from": "2026-11-27", "to": "2026-11-28"},
                    {"name": 42, "date": "2026-12-31"},
                    {"name": None, "date": "2026-12-30"},
                ],
            },
        ),
        ("PUT", "/umm/ecm/contact/update", {"id": entry.id, "expiresAt": None}),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": ids["campaign"], "phone1": 4155550147, "phone2": " "},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {"campaignId": ids["campaign"], "phone1": "(415) 555-0148", "phone3": None},
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {
                "campaignId": ids["campaign"],
                "phone1": "4155550149",
                "timeZone": " America/Chicago",
                "region": "us-fl ",
                "dialTime": "2030-12-31T09:30:00Z",
                "duplicateCallbacks": "\t\f ",  # blank: the default (allow)
                "duplicateScope": " \n",
            },
        ),
        (
            "POST",
            "/umm/ecm/callback/insertCallback",
            {
                "campaignId": ids["campaign"],
                "phone1": "4155550150",
                "timeZone": "",
                "region": None,
            },
        ),
        (
            "POST",
            "/umm/ecm/callStrategyAttempt/save",
            {"csId": ids["strategy"], "phone": "2", "channel": 1},
        ),
    ]
    for method, path, value in accepted:
        assert allowed(document, body_schema(document, method, path), value), value
        res = api.call(method, path, json=value)
        assert res.status_code == 200, (method, path, value, res.get_json())


def test_ids_the_server_needs_are_required_parameters(document):
    for path, name in [
        ("/umm/ecm/dncList/delete", "id"),
        ("/umm/ecm/dncList/entries/delete", "id"),
        ("/umm/ecm/resultEffects/delete", "callResult"),
    ]:
        for op in document["paths"][path].values():
            (param,) = [p for p in op["parameters"] if p["name"] == name]
            assert param["required"] is True, path
    for path in ("/umm/ecm/callStrategyAttempt/update",):
        for op in document["paths"][path].values():
            assert op["requestBody"]["required"] is True  # needs id or csAttempt


def test_a_named_list_pages_in_the_ranges_paging_enforces(document, api, records):
    named = records[1]
    path = "/umm/ecm/dncList/{list_id}/entries"
    params = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
    for name, refused in (("max", 0), ("size", 10_001)):
        assert not allowed(document, params[name]["schema"], refused)
        res = api.get(f"/umm/ecm/dncList/{named.id}/entries?{name}={refused}")
        assert res.status_code == 406, res.get_json()


def test_an_empty_opt_out_report_bound_is_allowed_and_read_as_absent(document, api):
    (param,) = [
        p
        for p in document["paths"]["/umm/ecm/optOut/report"]["get"]["parameters"]
        if p["name"] == "to"
    ]
    assert allowed(document, param["schema"], "")
    assert not allowed(document, param["schema"], "1999-01-01T00:00:00Z")
    assert api.get("/umm/ecm/optOut/report?to=").status_code == 200


def test_upload_forms_send_a_non_empty_file_part(document):
    for path in (
        "/umm/ecm/contact/uploadCsv",
        "/umm/ecm/callback/uploadBulkCaller",
        "/umm/ecm/dncList/{list_id}/upload",
    ):
        form = document["paths"][path]["post"]["requestBody"]["content"]
        schema = form["multipart/form-data"]["schema"]
        assert "file" in schema["required"], path
        assert schema["properties"]["file"]["format"] == "binary"
        assert schema["properties"]["file"]["minLength"] == 1


PREVIEW = "/umm/ecm/campaign/{campaign_id}/filterPreview"
REFUSED_FILTERS = [
    None,  # a JSON null is no filter object
    {"rules": [{}]},
    {"rules": [{"field": "businessParam4", "op": "eq", "value": "x", "rules": []}]},
    {"rules": [{"field": "businessParam4", "match": "any"}]},
    {"rules": [{"field": "region", "op": "eq", "value": "GB"}]},
    {"rules": [{"field": "region", "op": "in", "value": ["XX"]}]},
    {"rules": [{"field": "zone", "op": "empty", "value": "x"}]},
    {"rules": [{"field": "zone", "op": "in", "value": ["Mars/Base"]}]},
    {"rules": [{"field": "priority", "op": "gte", "value": 1.5}]},
    {"rules": [{"field": "priority", "op": "gte", "value": [1]}]},
    {"rules": [{"field": "dialTime", "op": "between", "value": ["2026-12-01"]}]},
    {"rules": [{"field": "dialTime", "op": "before", "value": "soon"}]},
    {"rules": [{"field": "prefix", "op": "in", "value": []}]},
    {"rules": [{"field": "businessParam1", "op": "eq", "value": "x" * 256}]},
    {"rules": [{"match": "any", "op": "eq"}]},
    {"rules": [{"rules": [{"rules": [{"rules": []}]}]}]},  # groups nest 3 deep at most
]
ACCEPTED_FILTERS = [
    {},
    {"match": "any", "rules": []},
    {"rules": [{"field": "businessParam4", "op": "contains", "value": 7}]},
    {"rules": [{"field": "businessParam2", "op": "in", "value": ["a", True, 1.5]}]},
    {"rules": [{"field": "region", "op": "in", "value": [" gb", "US"]}]},
    {"rules": [{"field": "region", "op": "not_in", "value": "ie"}]},
    {"rules": [{"field": "zone", "op": "in", "value": ["Asia/Kolkata"]}]},
    {"rules": [{"field": "zone", "op": "not_empty", "value": None}]},
    {"rules": [{"field": "uploadId", "op": "empty"}]},
    {"rules": [{"field": "uploadId", "op": "in", "value": ["12", -3, 57.0]}]},
    {"rules": [{"field": "prefix", "op": "in", "value": ["+4420", 1212, 44.0]}]},
    {"rules": [{"field": "priority", "op": "lte", "value": " -5 "}]},
    {
        "rules": [
            {
                "field": "dialTime",
                "op": "between",
                "value": ["2026-12-01 09:00", "2026-12-28T18:00:00Z"],
            }
        ]
    },
    {"rules": [{"match": "any", "rules": [{"rules": [], "match": None}]}]},
    {"rules": [{"rules": [{"field": "region", "op": "in", "value": "GB"}]}]},
]


def _post_json(api, path: str, value):
    """The value as the JSON body, null included (json=None sends no body)."""
    return api.call(
        "POST", path, data=json.dumps(value), content_type="application/json"
    )


def test_a_contact_filter_preview_is_refused_by_both_or_by_neither(
    document, api, records
):
    schema = body_schema(document, "POST", PREVIEW)
    path = PREVIEW.format(campaign_id=records[0]["campaign"])
    for value in REFUSED_FILTERS:
        assert not allowed(document, schema, value), value
        res = _post_json(api, path, value)
        assert res.status_code == 406, (value, res.get_json())
        assert res.get_json()["error"] == "not_acceptable"
    for value in ACCEPTED_FILTERS:
        assert allowed(document, schema, value), value
        res = _post_json(api, path, value)
        assert res.status_code == 200, (value, res.get_json())
    res = api.call("POST", path)
    assert res.status_code == 200  # no body at all: no filter (the body is optional)
    assert document["paths"][PREVIEW]["post"]["requestBody"]["required"] is False
