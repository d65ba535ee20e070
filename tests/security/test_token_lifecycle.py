"""Refresh tokens end with the credentials behind them; re-use ends the whole login.

Attacks reproduced here (issue 17, findings 1 and 2): a refresh token kept from before a
password change, reset, role change or disable/re-enable still minting access tokens;
the family's live access token surviving the detection of a stolen refresh token; and
several simultaneous refreshes of one token each succeeding.
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import make_user
from tests.security.builders import as_admin


def _login(client, username: str, password: str) -> dict:
    res = client.post(
        "/umm/api/login", json={"username": username, "password": password}
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()


def _refresh(client, token: str):
    return client.post(
        "/umm/oauth/access_token",
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


def _works(client, access: str) -> bool:
    res = client.get("/umm/ecm/campaign", headers={"Authorization": f"Bearer {access}"})
    assert res.status_code in (200, 401), res.status_code
    return res.status_code == 200


CHANGES = ["own password", "reset by admin", "role", "disable and re-enable"]


def _apply(app, change: str, user_id: int) -> None:
    from portal.services import users

    def run(admin):
        user = users.get_user(admin, user_id)
        if change == "own password":
            users.change_password(user, "kim-password-1", "kim-password-2")
        elif change == "reset by admin":
            users.set_password(admin, user, "reset-by-admin-1")
        elif change == "role":
            users.update_user(admin, {"id": user_id, "role": "Viewer"})
        else:
            users.update_user(admin, {"id": user_id, "active": False})
            users.update_user(admin, {"id": user_id, "active": True})

    as_admin(app, run)


@pytest.mark.parametrize("change", CHANGES)
def test_refresh_tokens_die_with_the_credentials_behind_them(app, change):
    """Finding 1: a refresh token from before the change still minted access tokens."""
    user_id = as_admin(
        app, lambda admin: make_user("Supervisor", "kim", "kim-password-1").id
    )
    client = app.test_client()
    pair = _login(client, "kim", "kim-password-1")
    spare = _login(client, "kim", "kim-password-1")  # a second login, never refreshed
    rotated = _refresh(client, spare["refresh_token"]).get_json()
    _apply(app, change, user_id)
    for token in (pair["refresh_token"], rotated["refresh_token"]):
        res = _refresh(client, token)
        assert res.status_code == 401, change
        assert res.get_json()["error"] == "unauthorized"
    for access in (pair["token"], rotated["token"]):
        assert not _works(client, access)


def test_a_fresh_login_after_the_change_refreshes_normally(app):
    user_id = as_admin(
        app, lambda admin: make_user("Supervisor", "kim", "kim-password-1").id
    )
    client = app.test_client()
    _apply(app, "role", user_id)
    pair = _login(client, "kim", "kim-password-1")
    res = _refresh(client, pair["refresh_token"])
    assert res.status_code == 200
    assert _works(client, res.get_json()["token"])


def test_reuse_of_a_spent_refresh_token_ends_the_familys_access_tokens(app):
    """Finding 2: the family's latest access token outlived the reuse detection."""
    client = app.test_client()
    first = _login(client, "admin", "admin")
    other = _login(client, "admin", "admin")
    second = _refresh(client, first["refresh_token"]).get_json()
    third = _refresh(client, second["refresh_token"]).get_json()
    assert _works(client, third["token"])

    replay = _refresh(client, first["refresh_token"])  # the thief, or the victim
    assert replay.status_code == 401
    assert "re-used" in replay.get_json()["message"]
    for access in (first["token"], second["token"], third["token"]):
        assert not _works(client, access)
    assert _refresh(client, third["refresh_token"]).status_code == 401
    # another login of the same account is a different family and lives on
    assert _works(client, other["token"])
    assert _refresh(client, other["refresh_token"]).status_code == 200


def test_logout_with_the_refresh_token_ends_every_access_token_of_the_login(app):
    client = app.test_client()
    first = _login(client, "admin", "admin")
    rotated = _refresh(client, first["refresh_token"]).get_json()
    out = client.post(
        "/umm/api/logout",
        json={"refresh_token": rotated["refresh_token"]},
        headers={"Authorization": f"Bearer {rotated['token']}"},
    )
    assert out.status_code == 200
    assert not _works(client, rotated["token"])
    assert _refresh(client, rotated["refresh_token"]).status_code == 401


@pytest.mark.parametrize("parallel", [2, 8])
def test_simultaneous_refreshes_of_one_token_let_only_one_win(app, parallel):
    """Finding 2: several parallel refreshes of one token each succeeded."""
    client = app.test_client()
    pair = _login(client, "admin", "admin")
    barrier = threading.Barrier(parallel)
    answers: list = []

    def refresh_once() -> None:
        own = app.test_client()
        barrier.wait()
        res = _refresh(own, pair["refresh_token"])
        answers.append((res.status_code, res.get_json()))

    threads = [threading.Thread(target=refresh_once) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [401] * (parallel - 1), answers
    # the losers presented a spent token: that is re-use, and the login is ended
    winner = next(body for status, body in answers if status == 200)
    assert not _works(client, winner["token"])
    assert _refresh(client, winner["refresh_token"]).status_code == 401
