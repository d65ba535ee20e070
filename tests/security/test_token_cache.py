"""The bearer-token check answered from memory (issue #15), and every way it must end.

A process remembers the tokens it found valid and asks the database again after any
write to the auth tables anywhere: its own commits at once, another process's or
host's once PostgreSQL delivers the trigger's NOTIFY. The other process is modelled
here by a second, plain psycopg connection writing SQL: nothing of the portal's code
runs on that side, so only the database's triggers can tell this process.
"""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL


@pytest.fixture(params=["postgresql"])
def backend(request):
    return request.param


def _conninfo() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(False)


def _login(client) -> dict:
    res = client.post("/umm/api/login", json={"username": "admin", "password": "admin"})
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()


def _status(client, token: str) -> int:
    res = client.get("/umm/ecm/campaign", headers={"Authorization": f"Bearer {token}"})
    return res.status_code


def _claims(app, token: str) -> dict:
    import jwt

    return jwt.decode(token, app.config["JWT_SECRET"], algorithms=["HS256"])


def _auth_statements(app):
    """The SQL statements that read the auth tables, as they are sent."""
    from portal.extensions import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "revoked_access_tokens" in statement or "FROM users" in statement:
            seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    return seen


def _elsewhere(sql: str, params: tuple = ()) -> float:
    """Run SQL as another host would, commit, and return the commit's time."""
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        conn.execute(sql, params)
        return time.perf_counter()


def _wait_for_notice(app, committed: float) -> float:
    """Seconds from the other side's commit until this process's socket has the
    notice (what a request here would read first)."""
    from portal.services import token_cache

    socket = token_cache.for_app(app)._listener.pgconn.socket
    readable, _, _ = select.select([socket], [], [], 5.0)
    assert readable, "no notice within 5 s"
    return time.perf_counter() - committed


def test_a_valid_token_is_checked_once_then_answered_from_memory(app, client):
    from portal.services import token_cache

    token = _login(client)["token"]
    seen = _auth_statements(app)
    assert _status(client, token) == 200
    assert len(seen) == 1  # the first request checks the database
    cache = token_cache.for_app(app)
    hits = cache.hits
    for _ in range(5):
        assert _status(client, token) == 200
    assert len(seen) == 1, seen  # the next five did not
    assert cache.hits == hits + 5


def test_own_logout_holds_on_the_next_request(app, client):
    tokens = _login(client)
    assert _status(client, tokens["token"]) == 200
    res = client.post(
        "/umm/api/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['token']}"},
    )
    assert res.status_code in (200, 204), res.get_data(as_text=True)
    assert _status(client, tokens["token"]) == 401  # no waiting for the notice


CHANGES_ELSEWHERE = {
    "the token revoked": (
        "INSERT INTO revoked_access_tokens (jti, expires_at)"
        " VALUES (%(jti)s, now() + interval '1 hour')"
    ),
    "its family revoked": (
        "INSERT INTO revoked_token_families (family, expires_at)"
        " VALUES (%(fam)s, now() + interval '1 hour')"
    ),
    "the user disabled": "UPDATE users SET active = false WHERE id = %(sub)s::int",
    "the user's sessions ended": (
        "UPDATE users SET session_version = session_version + 1 WHERE id = %(sub)s::int"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES_ELSEWHERE))
def test_a_change_made_by_another_host_ends_the_remembered_token(app, client, change):
    token = _login(client)["token"]
    assert _status(client, token) == 200
    assert _status(client, token) == 200  # now answered from memory
    committed = _elsewhere(CHANGES_ELSEWHERE[change], _claims(app, token))
    delay = _wait_for_notice(app, committed)
    assert _status(client, token) == 401
    assert delay < 1.0, f"the notice took {delay * 1000:.1f} ms"


def test_a_lost_listener_falls_back_to_the_database_then_listens_again(
    app, client, monkeypatch
):
    from portal.services import token_cache

    monkeypatch.setattr(token_cache, "RECONNECT_SECONDS", 0.0)
    token = _login(client)["token"]
    assert _status(client, token) == 200
    cache = token_cache.for_app(app)
    pid = cache._listener.info.backend_pid
    # the listening connection dies (a server restart, a network cut) ...
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):
            gone = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()[0]
            if not gone:
                break
            time.sleep(0.02)
        # ... and while nobody listens, the token is revoked: no notice reaches us
        conn.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at)"
            " VALUES (%s, now() + interval '1 hour')",
            (_claims(app, token)["jti"],),
        )
    assert _status(client, token) == 401  # the database said so, not the memory
    fresh = _login(client)["token"]
    assert _status(client, fresh) == 200
    assert cache._listener is not None and cache._listener.info.backend_pid != pid
    hits = cache.hits
    assert _status(client, fresh) == 200
    assert cache.hits == hits + 1  # remembered again on the new connection


def test_a_check_that_raced_a_revocation_is_not_remembered(app, client):
    from portal.models import User
    from portal.services import token_cache

    _login(client)
    cache = token_cache.for_app(app)
    with app.app_context():
        user = User.query.filter_by(username="admin").one()
        _, generation = cache.lookup("raced")
        cache.clear()  # a notice arrived while the database was being asked
        cache.remember("raced", user, generation)
        assert cache.lookup("raced")[0] is None
        _, generation = cache.lookup("calm")
        cache.remember("calm", user, generation)
        assert cache.lookup("calm")[0]["id"] == user.id


def test_the_remembered_user_is_a_full_user_of_the_request(app, client):
    """Services get a persistent User they can read and change, as before."""
    token = _login(client)["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert _status(client, token) == 200
    res = client.post(
        "/umm/ecm/callStrategy/save", json={"name": "From memory"}, headers=headers
    )
    assert res.status_code in (200, 201), res.get_data(as_text=True)
    listed = client.get("/umm/ecm/callStrategy", headers=headers).get_json()
    assert "From memory" in str(listed)


def test_sqlite_and_a_switched_off_cache_check_the_database(app_factory, tmp_path):
    from portal import create_app
    from portal.services import token_cache
    from tests.conftest import base_config

    off = app_factory(ECM_TOKEN_CACHE=False)
    assert token_cache.for_app(off) is None
    embedded = create_app(base_config(f"sqlite:///{tmp_path / 'one.sqlite3'}"))
    assert token_cache.for_app(embedded) is None
