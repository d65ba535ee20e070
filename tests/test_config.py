"""Run modes from the environment; production mode refuses unsafe defaults."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.config import DEFAULT_ADMIN_PASSWORD, DEFAULT_SECRET, Config
from tests.conftest import PG_URL, REDIS_URL, truncate_all

PRODUCTION = {
    "DATABASE_URL": PG_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "a-long-random-production-secret",
    "ECM_ADMIN_PASSWORD": "a-strong-admin-password",
}


def test_embedded_mode_is_the_default():
    config = Config({})
    assert config.EMBEDDED and config.REDIS_URL is None
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.SQLALCHEMY_DATABASE_URI.endswith("instance/ecm.sqlite3")
    assert (config.ECM_AUTO_INIT, config.ECM_START_WORKER) == (True, True)
    assert config.SESSION_COOKIE_SECURE is False
    assert (config.SECRET_KEY, config.ECM_ADMIN_PASSWORD) == (None, "admin")
    assert (config.JWT_EXPIRES_IN, config.ECM_FEED_INTERVAL, config.ECM_DIALER) == (
        36000,
        10,
        "simulator",
    )
    config.check_production_safety()  # embedded mode may keep its defaults


def test_redis_url_selects_production_mode():
    config = Config(PRODUCTION)
    assert not config.EMBEDDED
    assert (config.ECM_AUTO_INIT, config.ECM_START_WORKER) == (False, False)
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.RATELIMIT_STORAGE_URI == REDIS_URL
    config.check_production_safety()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": DEFAULT_SECRET}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ECM_ADMIN_PASSWORD": DEFAULT_ADMIN_PASSWORD}, "ECM_ADMIN_PASSWORD"),
        ({"ECM_ADMIN_PASSWORD": ""}, "ECM_ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_default_secret_and_admin_password(override, message):
    config = Config({**PRODUCTION, **override})
    with pytest.raises(RuntimeError, match=message):
        config.check_production_safety()


def test_create_app_refuses_to_start_unsafe_in_production(monkeypatch):
    for key, value in {**PRODUCTION, "SECRET_KEY": ""}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", PRODUCTION["SECRET_KEY"])
    monkeypatch.setenv("ECM_ADMIN_PASSWORD", "admin")
    with pytest.raises(RuntimeError, match="ECM_ADMIN_PASSWORD"):
        create_app()


def test_create_app_starts_in_production_with_real_settings(monkeypatch):
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "ecm_embedded_runner" not in app.extensions, (
        "no worker inside the web process"
    )


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_get_the_psycopg3_driver(given, used):
    assert Config({"DATABASE_URL": given}).SQLALCHEMY_DATABASE_URI == used


def test_numbers_and_flags_from_the_environment():
    config = Config(
        {
            "ECM_JWT_EXPIRES_IN": "600",
            "ECM_FEED_INTERVAL": "oops",
            "ECM_AUTO_INIT": "no",
            "ECM_START_WORKER": "1",
            "ECM_DEFAULT_REGION": "gb",
            "ECM_MAX_UPLOAD_MB": "2",
        }
    )
    assert (config.JWT_EXPIRES_IN, config.ECM_FEED_INTERVAL) == (600, 10)
    assert (config.ECM_AUTO_INIT, config.ECM_START_WORKER) == (False, True)
    assert config.ECM_DEFAULT_REGION == "GB"
    assert config.MAX_CONTENT_LENGTH == 2 * 1024 * 1024


def test_jwt_secret_defaults_to_the_secret_key():
    assert Config({"SECRET_KEY": "k" * 20}).JWT_SECRET == "k" * 20
    assert (
        Config({"SECRET_KEY": "k" * 20, "ECM_JWT_SECRET": "j" * 20}).JWT_SECRET
        == "j" * 20
    )


def test_first_start_in_production_uses_the_configured_admin_password(app_factory):
    from portal import initialise_database
    from portal.extensions import db
    from portal.models import User
    from portal.services import auth

    app = app_factory(ECM_ADMIN_PASSWORD="a-strong-admin-password")
    truncate_all(app)  # an empty database, as on a first start
    with app.app_context():
        initialise_database(app)
        admin = db.session.scalar(db.select(User).where(User.username == "admin"))
        assert admin.default_password is False
        assert auth.verify_password(admin, "a-strong-admin-password")
        assert not auth.verify_password(admin, "admin")


def test_first_start_in_embedded_mode_is_admin_admin_flagged_as_default(app_factory):
    from portal import initialise_database
    from portal.extensions import db
    from portal.models import User
    from portal.services import auth

    app = app_factory()
    truncate_all(app)
    with app.app_context():
        initialise_database(app)
        admin = db.session.scalar(db.select(User).where(User.username == "admin"))
        assert admin.default_password is True
        assert auth.verify_password(admin, "admin")
