"""Property: no input, however malformed, makes a /umm endpoint answer 5xx (SPEC §7).

Every write endpoint registered in portal.api.core.ENDPOINTS gets arbitrary JSON
(nested, wrong types, huge strings and ints, nulls, unicode, arrays where objects
belong), bodies built from its own field names with arbitrary values, raw bytes
that are not JSON at all, and arbitrary query strings.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.api.core import ENDPOINTS
from tests.api import seed_examples as seed

EXAMPLES = 40
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)

COMMON_KEYS = [
    "id",
    "csId",
    "csAttempt",
    "atId",
    "index",
    "idIndexJson",
    "data",
    "campaignId",
    "strategyId",
    "status",
    "type",
    "name",
    "phone1",
    "primaryNumber",
    "retryMap",
    "page",
    "size",
    "max",
    "offset",
    "refresh_token",
    "grant_type",
    "username",
    "password",
    "weekdays",
    "startTIme",
    "callResult",
    "numberToCall",
    "raw",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 2**31, 2**63, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            " ",
            "1",
            "0",
            "pause",
            "resume",
            "22:10",
            "25:99",
            "0,1,2",
            "7,8",
            "+14155550100",
            "03062558180",
            "\x00",
            "2019-11-12 15:10:20",
            "9999-99-99 99:99:99",
            "null",
            "[]",
            "Europe/London",
            "Mars/Olympus",
            "ﾃｽﾄ",
            "😀" * 3,
            "a" * 5000,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(COMMON_KEYS), children, max_size=6
        )
    ),
    max_leaves=25,
)


def _fields(ep) -> list[str]:
    names = list(COMMON_KEYS)
    if ep.body is not None:
        names = list(ep.body.model_fields) + names
    return names


def field_bodies(ep):
    """Objects made of the endpoint's own field names with arbitrary values."""
    return st.dictionaries(st.sampled_from(_fields(ep)), json_values, max_size=10)


def huge_strings(ep):
    return st.dictionaries(
        st.sampled_from(_fields(ep)),
        st.sampled_from(["x" * 70_000, "9" * 5000, "é" * 3000, "0" * 300]),
        min_size=1,
        max_size=4,
    )


def write_endpoints() -> list[tuple[str, str, object]]:
    out = []
    for ep in ENDPOINTS:
        for method in ep.methods:
            if method in ("POST", "PUT", "DELETE"):
                out.append((method, ep.rule, ep))
    return out


def read_endpoints() -> list[tuple[str, str, object]]:
    return [(m, ep.rule, ep) for ep in ENDPOINTS for m in ep.methods if m == "GET"]


def concrete(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", "1", rule)


@pytest.fixture
def populated(api, ctx, admin):
    """A strategy with attempts, campaigns, contacts, DNC and preferences to aim at."""
    from portal.services import campaigns, contacts, dnc, preferences, strategies

    s = strategies.create_strategy(admin, {"name": "Fuzz", "maxAttempts": 3})
    for n in range(2):
        strategies.create_attempt(
            admin,
            {
                "csId": s.id,
                "name": f"A{n}",
                "retryMap": [{"call_result": 8, "attempt_number": 2, "delay": 1}],
            },
        )
    c = campaigns.create_campaign(admin, {"name": "Fuzz", "strategyId": s.id})
    contacts.insert_contact(admin, {"campaignId": c.id, "phone1": "+14155550100"})
    dnc.add_entry(admin, {"primaryNumber": "+14155550199"})
    preferences.save_preferences(admin, {"password": "secret"})
    return api


def _assert_no_5xx(res, method, path, sent) -> None:
    assert res.status_code < 500, (
        f"{method} {path} answered {res.status_code} to {sent!r:.300}: "
        f"{res.get_data(as_text=True)[:300]}"
    )
    if res.status_code >= 400:
        payload = res.get_json(silent=True)
        assert isinstance(payload, dict) and {"error", "message"} <= set(payload), (
            f"{method} {path} {res.status_code} is not the JSON error shape: "
            f"{res.get_data(as_text=True)[:200]}"
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "rule", "ep"),
    write_endpoints(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_write_endpoint_never_answers_5xx(populated, method, rule, ep):
    path = concrete(rule)

    @FUZZ_SETTINGS
    @given(
        payload=json_values | field_bodies(ep) | huge_strings(ep),
        query_id=st.none() | st.text(max_size=12) | st.integers(-5, 6).map(str),
    )
    def check(payload, query_id):
        url = path if query_id is None else f"{path}?id={query_id}"
        res = populated.call(method, url, json=payload)
        _assert_no_5xx(res, method, url, payload)

    check()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "rule", "ep"),
    write_endpoints(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_write_endpoint_survives_bytes_that_are_not_json(populated, method, rule, ep):
    path = concrete(rule)

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        raw=st.binary(max_size=200)
        | st.sampled_from(
            [
                b"{",
                b"[1,",
                b'{"id": 1,}',
                b"\xff\xfe\x00",
                b"NaN",
                b'{"id": NaN}',
                b'"\\ud800"',
                b"1e999999",
                b'{"a":' * 200,
            ]
        )
    )
    def check(raw):
        res = populated.call(method, path, data=raw, content_type="application/json")
        _assert_no_5xx(res, method, path, raw)

    check()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "rule", "ep"),
    read_endpoints(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_read_endpoint_survives_arbitrary_query_strings(populated, method, rule, ep):
    path = concrete(rule)
    keys = st.sampled_from(
        [
            "id",
            "csId",
            "max",
            "offset",
            "page",
            "size",
            "q",
            "search",
            "campaignId",
            "requestState",
            "callResult",
            "phone",
            "afterId",
        ]
    )

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        query=st.dictionaries(
            keys, st.text(max_size=30) | st.integers().map(str), max_size=4
        )
    )
    def check(query):
        res = populated.client.open(
            path, method=method, query_string=query, headers=populated._headers()
        )
        _assert_no_5xx(res, method, path, query)

    check()


HOSTILE_VALUES = [
    None,
    True,
    False,
    -1,
    0,
    2**31,
    2**70,
    -(2**70),
    1.5,
    1e308,
    "",
    " ",
    "-1",
    "x" * 70_000,
    "😀" * 100,
    "\u202e\u0000"[:1],
    "0" * 5000,
    "NaN",
    [],
    [None],
    {},
    {"a": {"b": []}},
    "9999-12-31 23:59:59",
    "0001-01-01 00:00:00",
    "23:60",
    "7",
]


def base_body(rule: str, n: int) -> dict:
    """A valid request for the rows `populated` made (ids 1), unique where needed."""
    bodies = {
        "/umm/api/login": lambda: dict(seed.LOGIN_REQUEST),
        "/umm/oauth/access_token": lambda: {
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
        "/umm/ecm/campaign/createCampaign": lambda: {
            **seed.create_campaign_request(1),
            "name": f"c{n}",
        },
        "/umm/ecm/campaign/createCampaignBySkilllGroup": lambda: {
            **seed.skill_group_request(1),
            "name": f"s{n}",
        },
        "/umm/ecm/campaign/createCampaignBySkillGroup": lambda: {
            **seed.skill_group_request(1),
            "name": f"t{n}",
        },
        "/umm/ecm/campaign/update": lambda: {
            **seed.create_campaign_request(1),
            "id": 1,
            "name": f"u{n}",
            "type": 0,
        },
        "/umm/ecm/campaign/campaignUpdateStatus": lambda: {"id": 1, "status": 1},
        "/umm/ecm/contact/save": lambda: {
            "name": "D",
            "primaryNumber": f"+1415555{n:04d}",
        },
        "/umm/ecm/contact/update": lambda: seed.dnc_update_request(1),
        "/umm/ecm/callback/insertCallback": lambda: seed.insert_callback_request(1),
        "/umm/ecm/callback/getList": lambda: {"campaignId": 1, "page": 0, "size": 10},
        "/umm/ecm/callStrategy/save": lambda: {"name": f"s{n}", "maxAttempts": 3},
        "/umm/ecm/callStrategy/updateName": lambda: seed.update_name_request(
            1, f"r{n}"
        ),
        "/umm/ecm/callStrategyAttempt/save": lambda: seed.attempt_save_request(1),
        "/umm/ecm/callStrategyAttempt/update": lambda: {
            **seed.attempt_update_request(1, 1),
            "id": 1,
        },
        "/umm/ecm/callStrategyAttempt/updateOrder": lambda: seed.update_order_request(
            [(1, 2), (2, 1)]
        ),
        "/umm/ecm/preferenceSettings/save": lambda: dict(seed.PREFERENCES_SAVE_REQUEST),
        "/umm/ecm/preferenceSettings/update": lambda: seed.preferences_update_request(
            1
        ),
    }
    return bodies.get(rule, lambda: {"id": 1})()


def hostile_variants(rule: str, ep):
    """The base body with one field, or one nested field, set to each hostile value."""
    n = 0
    fields = list(
        dict.fromkeys(
            list(base_body(rule, 0)) + _fields(ep)[: -len(COMMON_KEYS)] + ["id"]
        )
    )
    for name in fields:
        for value in HOSTILE_VALUES:
            n += 1
            body = base_body(rule, n)
            body[name] = value
            yield body
    for value in HOSTILE_VALUES:
        n += 1
        body = base_body(rule, n)
        if "retryMap" in body:
            for key in ("call_result", "attempt_number", "delay", "expiry"):
                yield {**body, "retryMap": [{**body["retryMap"][0], key: value}]}
        if "idIndexJson" in body:
            for key in ("atId", "index"):
                item = {**body["idIndexJson"]["data"][0], key: value}
                yield {"idIndexJson": {"data": [item]}}
            yield {"idIndexJson": value}
            yield {"idIndexJson": {"data": value}}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "rule", "ep"),
    write_endpoints(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_field_survives_hostile_values(populated, method, rule, ep):
    """Each field of a valid request, in turn, set to each hostile value: never 5xx."""
    path = concrete(rule)
    sent = 0
    for body in hostile_variants(rule, ep):
        res = populated.call(method, path, json=body)
        _assert_no_5xx(res, method, path, body)
        sent += 1
    assert sent >= len(HOSTILE_VALUES)


def test_fuzz_covers_every_write_endpoint():
    """The property runs over the live registry, so new endpoints are fuzzed too."""
    rules = {rule for _, rule, _ in write_endpoints()}
    for expected in (
        "/umm/ecm/campaign/createCampaign",
        "/umm/ecm/contact/delete",
        "/umm/ecm/callStrategyAttempt/updateOrder",
        "/umm/ecm/preferenceSettings/save",
        "/umm/api/login",
    ):
        assert expected in rules
    assert json.dumps(sorted(rules))
