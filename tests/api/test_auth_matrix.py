"""Who may call what, over every endpoint in the live registry (core.ENDPOINTS).

Endpoints added later are covered without touching this file: every authenticated
endpoint must refuse missing, expired, unsigned and otherwise-signed tokens with 401;
a Viewer's writes are 403 (a write is a POST/PUT/DELETE unless listed in READ_POSTS);
a Supervisor may not write the preferences.
"""

from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pytest

from portal.api.core import ENDPOINTS

# POSTs that only read, as the seed has them (getList, preference GET) or that any
# signed-in user may do for themselves (logout).
READ_POSTS = {
    "/umm/ecm/callback/getList",
    "/umm/ecm/preferenceSettings",
    "/umm/api/logout",
    "/umm/ecm/campaign/<int:campaign_id>/filterPreview",  # counts, saves nothing
}
# Reads reserved to the Administrator.
ADMIN_ONLY_READS = {"/umm/ecm/audit.csv"}
PREFERENCE_WRITES = {
    "/umm/ecm/preferenceSettings/save",
    "/umm/ecm/preferenceSettings/update",
    "/umm/ecm/preferenceSettings/delete",
}
# Writes reserved to the Administrator beyond the preferences (issue 13: erasure).
ADMIN_ONLY_WRITES = {"/umm/ecm/privacy/erase"}
WRITE_METHODS = {"POST", "PUT", "DELETE"}


def concrete(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", "1", rule)


def calls(auth_only: bool = True) -> list[tuple[str, str]]:
    """(method, rule) for every registered endpoint."""
    return [
        (method, ep.rule)
        for ep in ENDPOINTS
        if ep.auth or not auth_only
        for method in ep.methods
    ]


def is_write(method: str, rule: str) -> bool:
    return method in WRITE_METHODS and rule not in READ_POSTS


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user, **over) -> dict:
    now = int(time.time())
    return {
        "sub": str(user.id),
        "jti": f"test-{now}-{over.get('exp', 0)}",
        "typ": "access",
        "sv": user.session_version,
        "role": user.role,
        "iat": now,
        "exp": now + 3600,
        **over,
    }


def forged_tokens(app, admin) -> dict[str, str]:
    """Tokens that name a real administrator but must all be refused."""
    secret = app.config["JWT_SECRET"]
    now = int(time.time())
    good = _claims(admin)
    signed = jwt.encode(good, secret, algorithm="HS256")
    head, _, sig = signed.split(".")
    tampered = f"{head}.{_b64({**good, 'role': 'Administrator', 'sub': '999'})}.{sig}"
    tokens = {
        "expired": jwt.encode(
            _claims(admin, iat=now - 7200, exp=now - 60), secret, algorithm="HS256"
        ),
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}.",
        "alg-none-upper": f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{_b64(good)}.",
        "hs512-right-secret": jwt.encode(good, secret, algorithm="HS512"),
        "hs256-wrong-secret": jwt.encode(good, secret + "-not", algorithm="HS256"),
        "tampered-payload": tampered,
        "refresh-as-access": jwt.encode(
            {**good, "typ": "refresh", "fam": "f"}, secret, algorithm="HS256"
        ),
        "no-exp": jwt.encode(
            {k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256"
        ),
        "stale-session-version": jwt.encode(
            {**good, "sv": admin.session_version + 1}, secret, algorithm="HS256"
        ),
        "garbage": "a.b.c",
    }
    try:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tokens["rs256"] = jwt.encode(good, key, algorithm="RS256")
    except ImportError:  # pragma: no cover - cryptography ships with the stack
        tokens["rs256-header"] = (
            f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(good)}.c2ln"
        )
    return tokens


def _send(client, method: str, rule: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.open(
        f"{concrete(rule)}?id=1&csId=1", method=method, json={}, headers=headers
    )


def test_registry_is_not_empty_and_every_ecm_endpoint_needs_a_token():
    ecm = [ep for ep in ENDPOINTS if ep.rule.startswith("/umm/ecm/")]
    assert len(ecm) >= 25
    assert all(ep.auth for ep in ecm), [ep.rule for ep in ecm if not ep.auth]


def test_without_a_token_every_endpoint_is_401(client, app):
    failures = []
    for method, rule in calls():
        res = _send(client, method, rule, None)
        body = res.get_json(silent=True) or {}
        if res.status_code != 401 or body.get("error") != "unauthorized":
            failures.append((method, rule, res.status_code))
    assert failures == []


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "alg-none",
        "alg-none-upper",
        "hs512-right-secret",
        "hs256-wrong-secret",
        "tampered-payload",
        "refresh-as-access",
        "no-exp",
        "stale-session-version",
        "garbage",
        "rs256",
    ],
)
def test_forged_or_expired_tokens_are_401_everywhere(client, app, admin, case):
    token = (
        forged_tokens(app, admin).get(case) or forged_tokens(app, admin)["rs256-header"]
    )
    failures = []
    for method, rule in calls():
        res = _send(client, method, rule, token)
        if res.status_code != 401:
            failures.append((method, rule, res.status_code))
    assert failures == []


def test_a_logged_out_token_is_401_everywhere(client, app, api):
    api.post("/umm/api/logout")
    failures = [
        (method, rule, res.status_code)
        for method, rule in calls()
        if (res := _send(client, method, rule, api.token)).status_code != 401
    ]
    assert failures == []


def test_viewer_writes_are_403_and_reads_are_allowed(viewer_api):
    failures = []
    for method, rule in sorted(calls(), key=lambda c: c[1] == "/umm/api/logout"):
        res = viewer_api.call(method, f"{concrete(rule)}?id=1&csId=1", {})
        status = res.status_code
        if is_write(method, rule) or rule in ADMIN_ONLY_READS:
            if status != 403 or res.get_json()["error"] != "forbidden":
                failures.append(("should be 403", method, rule, status))
        elif status in (401, 403):
            failures.append(("should be allowed", method, rule, status))
    assert failures == []


def test_supervisor_may_not_write_preferences_but_may_write_the_rest(supervisor_api):
    failures = []
    for method, rule in calls():
        if rule == "/umm/api/logout":
            continue  # it would end the session the rest of the loop uses
        res = supervisor_api.call(method, f"{concrete(rule)}?id=1&csId=1", {})
        expect_forbidden = (
            rule in PREFERENCE_WRITES | ADMIN_ONLY_WRITES and method in WRITE_METHODS
        ) or rule in ADMIN_ONLY_READS
        if expect_forbidden != (res.status_code == 403):
            failures.append((method, rule, res.status_code))
    assert failures == []


def test_login_and_refresh_need_no_token_but_the_openapi_document_is_public(
    client, app
):
    assert client.get("/umm/openapi.json").status_code == 200
    public = {ep.rule for ep in ENDPOINTS if not ep.auth}
    assert public == {"/umm/api/login", "/umm/oauth/access_token"}
