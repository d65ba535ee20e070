"""Password hashing and the production start-up refusals."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from portal.config import Config, limiter_storage
from tests.conftest import make_user

PRODUCTION = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
GOOD = {**PRODUCTION, "SECRET_KEY": "x" * 32, "ECM_ADMIN_PASSWORD": "a-real-password-1"}


def test_passwords_are_argon2id_and_never_stored_in_clear(ctx):
    user = make_user("Viewer", "hashme", "correct horse battery")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in user.password_hash
    from portal.services import auth

    assert auth.verify_password(user, "correct horse battery")
    assert not auth.verify_password(user, "correct horse batterY")
    assert not auth.verify_password(None, "anything")  # unknown user: same work, False


def test_weaker_hashes_are_upgraded_at_sign_in(ctx):
    from portal.extensions import db
    from portal.services import auth

    user = make_user("Viewer", "oldhash", "old-parameters-1")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(
        "old-parameters-1"
    )
    db.session.commit()
    weak = user.password_hash
    auth.authenticate("oldhash", "old-parameters-1")
    assert user.password_hash != weak
    assert auth.verify_password(user, "old-parameters-1")


def test_embedded_mode_allows_the_default_admin():
    Config(env={}).check_production_safety()


@pytest.mark.parametrize(
    "env,problem",
    [
        ({**GOOD, "SECRET_KEY": ""}, "SECRET_KEY"),
        ({**GOOD, "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**GOOD, "ECM_ADMIN_PASSWORD": "admin"}, "ECM_ADMIN_PASSWORD"),
        ({**GOOD, "ECM_ADMIN_PASSWORD": ""}, "ECM_ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_guessable_secrets(env, problem):
    with pytest.raises(RuntimeError, match=problem):
        Config(env=env).check_production_safety()


def test_production_with_real_secrets_starts_and_is_hardened():
    config = Config(env=GOOD)
    config.check_production_safety()
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.RATELIMIT_STORAGE_URI == GOOD["REDIS_URL"]


def test_throttle_storage_follows_the_redis_url():
    assert limiter_storage(None) == "memory://"
    assert limiter_storage("redis://h:6379/1") == "redis://h:6379/1"
    assert limiter_storage("rediss://h:6380/0") == "rediss://h:6380/0"
    assert limiter_storage("unix:///run/redis.sock") == "redis+unix:///run/redis.sock"


def test_embedded_mode_without_secret_key_makes_a_random_one_and_keeps_it(tmp_path):
    """Finding 8: embedded mode signed with a value printed in the README."""
    import os
    import stat

    from portal.config import DEFAULT_SECRET, KNOWN_SECRETS, Config

    first = Config(env={})
    first.resolve_secrets(tmp_path)
    assert first.SECRET_KEY not in KNOWN_SECRETS and len(first.SECRET_KEY) >= 32
    assert first.SECRET_KEY != DEFAULT_SECRET
    assert first.JWT_SECRET == first.SECRET_KEY
    assert first.ECM_KNOWN_SECRET is False
    stored = tmp_path / "secret_key"
    assert stored.read_text() == first.SECRET_KEY
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    again = Config(env={})
    again.resolve_secrets(tmp_path)
    assert again.SECRET_KEY == first.SECRET_KEY  # sessions survive a restart
    other = Config(env={})
    other.resolve_secrets(tmp_path / "another-install")
    assert other.SECRET_KEY != first.SECRET_KEY


@pytest.mark.parametrize(
    "known", ["dev-secret-change-me", "changeme", "secret", "short"]
)
def test_a_known_secret_is_flagged_and_refused_in_production(tmp_path, known):
    from portal.config import Config

    embedded = Config(env={"SECRET_KEY": known})
    embedded.resolve_secrets(tmp_path)
    assert embedded.ECM_KNOWN_SECRET is True
    embedded.check_production_safety()  # embedded mode starts, with the warning
    production = Config(
        env={
            "SECRET_KEY": known,
            "REDIS_URL": "redis://127.0.0.1:6379/1",
            "ECM_ADMIN_PASSWORD": "a-strong-admin-password",
        }
    )
    production.resolve_secrets(tmp_path)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        production.check_production_safety()
    jwt_only = Config(
        env={
            "SECRET_KEY": "a-long-random-production-secret",
            "ECM_JWT_SECRET": known,
            "REDIS_URL": "redis://127.0.0.1:6379/1",
            "ECM_ADMIN_PASSWORD": "a-strong-admin-password",
        }
    )
    jwt_only.resolve_secrets(tmp_path)
    with pytest.raises(RuntimeError, match="ECM_JWT_SECRET"):
        jwt_only.check_production_safety()


def test_the_portal_warns_while_a_known_secret_is_in_use(app_factory):
    from tests.security.builders import portal_login

    warned = app_factory(SECRET_KEY="dev-secret-change-me", JWT_SECRET=None)
    with warned.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    client = warned.test_client()
    assert "publicly known secret" in client.get("/login").get_data(as_text=True)
    portal_login(client, "admin", "admin")
    assert "publicly known secret" in client.get("/campaigns").get_data(as_text=True)
    quiet = app_factory()
    page = quiet.test_client().get("/login").get_data(as_text=True)
    assert "publicly known secret" not in page
