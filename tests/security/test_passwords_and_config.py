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
