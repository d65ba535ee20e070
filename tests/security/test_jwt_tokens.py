"""API tokens: the HS256 allow-list, expiry, tampering, rotation and revocation."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import login_token, make_user

SECRET = "test-jwt-secret-0123456789-abcdefghijkl"  # tests/conftest.py base_config


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _status(client, token: str) -> tuple[int, dict]:
    res = client.get("/umm/ecm/campaign", headers={"Authorization": f"Bearer {token}"})
    return res.status_code, res.get_json()


@pytest.fixture
def good_token(client):
    return login_token(client, "admin", "admin")


def test_valid_token_is_accepted(client, good_token):
    assert _status(client, good_token)[0] == 200


def test_alg_none_is_refused(client, good_token):
    claims = _claims_of(good_token)
    for alg in ("none", "None", "NONE"):
        forged = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        status, payload = _status(client, forged)
        assert status == 401, alg
        assert payload["error"] == "unauthorized"


def test_other_hmac_algorithms_are_refused_even_with_the_right_secret(
    client, good_token
):
    claims = _claims_of(good_token)
    for alg in ("HS384", "HS512"):
        forged = jwt.encode(claims, SECRET, algorithm=alg)
        assert _status(client, forged)[0] == 401, alg


def test_rs256_signed_token_is_refused(client, good_token):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims_of(good_token), key, algorithm="RS256")
    assert _status(client, forged)[0] == 401


def test_token_signed_with_another_secret_is_refused(client, good_token):
    forged = jwt.encode(_claims_of(good_token), "another-secret-0123456789abcdef")
    assert _status(client, forged)[0] == 401


def test_expired_token_is_refused(client, good_token):
    claims = _claims_of(good_token)
    claims["exp"] = int(time.time()) - 5
    expired = jwt.encode(claims, SECRET, algorithm="HS256")
    status, payload = _status(client, expired)
    assert status == 401
    assert payload["message"] == "Token expired"


def test_expired_by_configuration(app_factory):
    app = app_factory(JWT_EXPIRES_IN=1)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    client = app.test_client()
    token = login_token(client, "admin", "admin")
    assert _claims_of(token)["exp"] - _claims_of(token)["iat"] == 1
    time.sleep(2.1)
    assert _status(client, token)[0] == 401


def test_token_without_exp_is_refused(client, good_token):
    claims = _claims_of(good_token)
    del claims["exp"]
    assert _status(client, jwt.encode(claims, SECRET, algorithm="HS256"))[0] == 401


@pytest.mark.parametrize("part", ["header", "payload", "signature"])
def test_tampered_token_is_refused(client, good_token, part):
    header, payload, signature = good_token.split(".")
    if part == "payload":
        claims = _claims_of(good_token)
        claims["sub"] = str(int(claims["sub"]) + 1)
        claims["role"] = "Administrator"
        payload = _b64(claims)
    elif part == "header":
        header = _b64({"alg": "HS256", "typ": "JWT", "kid": "x"})
    else:
        signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _status(client, f"{header}.{payload}.{signature}")[0] == 401


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer not.a.jwt",
        "Bearer ....",
        "Token x",
    ],
)
def test_malformed_authorization_headers_are_401(client, value):
    res = client.get("/umm/ecm/campaign", headers={"Authorization": value})
    assert res.status_code == 401
    assert res.get_json()["error"] == "unauthorized"


def test_refresh_token_is_not_an_access_token(client):
    res = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    refresh = res.get_json()["refresh_token"]
    assert _status(client, refresh)[0] == 401


def test_access_token_is_not_a_refresh_token(client, good_token):
    res = client.post("/umm/oauth/access_token", data={"refresh_token": good_token})
    assert res.status_code == 401


def _refresh(client, token: str):
    return client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client):
    first = client.post(
        "/umm/api/login", json={"username": "admin", "password": "admin"}
    )
    r1 = first.get_json()["refresh_token"]
    other_login = client.post(
        "/umm/api/login", json={"username": "admin", "password": "admin"}
    )
    other_refresh = other_login.get_json()["refresh_token"]

    second = _refresh(client, r1)
    assert second.status_code == 200
    r2 = second.get_json()["refresh_token"]
    assert r2 != r1
    assert _status(client, second.get_json()["token"])[0] == 200

    replay = _refresh(client, r1)  # a stolen, already spent token
    assert replay.status_code == 401
    assert "re-used" in replay.get_json()["message"]
    assert _refresh(client, r2).status_code == 401  # the family is gone
    # a separate login (another family) is untouched
    assert _refresh(client, other_refresh).status_code == 200


def test_logout_ends_access_token_and_refresh_family(client):
    res = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    pair = res.get_json()
    out = client.post(
        "/umm/api/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers={"Authorization": f"Bearer {pair['token']}"},
    )
    assert out.status_code == 200
    assert _status(client, pair["token"])[0] == 401
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_disabling_a_user_ends_their_tokens(app, client, admin):
    from portal.services import users

    victim = make_user("Supervisor", "sam")
    token = login_token(client, "sam", "password-123")
    refresh = client.post(
        "/umm/api/login", json={"username": "sam", "password": "password-123"}
    ).get_json()["refresh_token"]
    assert _status(client, token)[0] == 200
    users.update_user(admin, {"id": victim.id, "active": False})
    assert _status(client, token)[0] == 401
    assert _refresh(client, refresh).status_code == 401
    res = client.post(
        "/umm/api/login", json={"username": "sam", "password": "password-123"}
    )
    assert res.status_code == 401


def test_password_change_ends_existing_tokens(app, client, admin):
    from portal.services import users

    user = make_user("Viewer", "vic", "old-password-1")
    token = login_token(client, "vic", "old-password-1")
    users.change_password(user, "old-password-1", "new-password-2")
    status, payload = _status(client, token)
    assert status == 401
    assert payload["message"] == "Token revoked"
    assert _status(client, login_token(client, "vic", "new-password-2"))[0] == 200


def test_role_change_ends_existing_tokens(app, client, admin):
    from portal.services import users

    user = make_user("Supervisor", "rita")
    token = login_token(client, "rita", "password-123")
    users.update_user(admin, {"id": user.id, "role": "Viewer"})
    assert _status(client, token)[0] == 401


def test_token_lifetime_matches_the_seed(client):
    res = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    body = res.get_json()
    claims = _claims_of(body["token"])
    assert body["expires_in"] == 36000
    assert timedelta(seconds=claims["exp"] - claims["iat"]) == timedelta(seconds=36000)
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"
