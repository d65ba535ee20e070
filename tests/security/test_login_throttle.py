"""Login throttling: per account and per address, failures only, one message."""

from __future__ import annotations

import pytest

from portal.http.throttle import MESSAGE
from tests.conftest import make_user


@pytest.fixture
def limited_app(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, ECM_LOGIN_LIMIT="3 per minute")
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
        make_user("Supervisor", "alice", "alice-password-1")
    return app


def _login(client, username, password, addr="10.0.0.1"):
    return client.post(
        "/umm/api/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_account_is_throttled_across_addresses(limited_app):
    client = limited_app.test_client()
    for i in range(3):
        assert _login(client, "alice", "wrong", f"10.0.1.{i}").status_code == 401
    res = _login(client, "alice", "alice-password-1", "10.0.1.99")
    assert res.status_code == 429
    assert res.get_json() == {"error": "too_many_requests", "message": MESSAGE}
    assert res.headers["Retry-After"]
    # another account from a fresh address is not affected
    assert _login(client, "admin", "admin", "10.0.2.1").status_code == 200


def test_address_is_throttled_across_accounts(limited_app):
    client = limited_app.test_client()
    for name in ("u1", "u2", "u3"):
        assert _login(client, name, "wrong", "10.0.3.1").status_code == 401
    assert _login(client, "alice", "alice-password-1", "10.0.3.1").status_code == 429
    assert _login(client, "alice", "alice-password-1", "10.0.3.2").status_code == 200


def test_unknown_and_known_users_get_the_same_answer(limited_app):
    client = limited_app.test_client()
    answers = {}
    for name, addr in (("alice", "10.0.4.1"), ("nobody-here", "10.0.5.1")):
        for _ in range(3):
            first = _login(client, name, "wrong", addr)
            assert first.status_code == 401
            assert first.get_json()["message"] == "Invalid username or password"
        res = _login(client, name, "wrong", addr)
        answers[name] = (res.status_code, res.get_json())
    assert answers["alice"] == answers["nobody-here"]
    assert answers["alice"][0] == 429


def test_successful_logins_do_not_count(limited_app):
    client = limited_app.test_client()
    for _ in range(10):
        assert _login(client, "alice", "alice-password-1").status_code == 200


def test_username_case_and_spaces_share_one_bucket(limited_app):
    client = limited_app.test_client()
    for name in ("Alice", "ALICE ", " alice"):
        assert _login(client, name, "wrong", "10.0.6.1").status_code == 401
    assert _login(client, "alice", "alice-password-1", "10.0.6.9").status_code == 429


def test_refresh_is_throttled_per_address(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        res = client.post(
            "/umm/oauth/access_token",
            data={"grant_type": "refresh_token", "refresh_token": "garbage"},
            environ_base={"REMOTE_ADDR": "10.0.7.1"},
        )
        assert res.status_code == 401
    res = client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": "garbage"},
        environ_base={"REMOTE_ADDR": "10.0.7.1"},
    )
    assert res.status_code == 429
    assert res.get_json()["message"] == MESSAGE
