"""ECM Portal: an outbound campaign manager wire-compatible with the ECM API."""

from __future__ import annotations

import select
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from portal import queue
from portal.config import Config
from portal.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


def _settings(config: dict[str, Any] | None, instance: Path) -> Config:
    """The environment's settings, with a caller's overrides and what they imply."""
    settings = Config()
    for key, value in (config or {}).items():
        setattr(settings, key, value)
    if config and "SQLALCHEMY_DATABASE_URI" in config:
        from portal.config import _database_url, _engine_options

        settings.SQLALCHEMY_DATABASE_URI = _database_url(
            config["SQLALCHEMY_DATABASE_URI"]
        )
        settings.SQLALCHEMY_ENGINE_OPTIONS = config.get(
            "SQLALCHEMY_ENGINE_OPTIONS",
            _engine_options(settings.SQLALCHEMY_DATABASE_URI),
        )
    if config and "REDIS_URL" in config and "RATELIMIT_STORAGE_URI" not in config:
        from portal.config import limiter_storage

        settings.RATELIMIT_STORAGE_URI = limiter_storage(config["REDIS_URL"])
    settings.resolve_secrets(instance)
    if not settings.TESTING:
        settings.check_production_safety()
    return settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: extensions, the API and portal blueprints, the CLI, the worker."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(_settings(config, Path(app.instance_path)))

    queue.init_app(app)  # before anything can start a thread that uses it
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portal import api, observability, web
    from portal.http import errors, gunicorn_errors, headers, multipart
    from portal.services import token_cache

    token_cache.init_app(app, db)

    gunicorn_errors.install_if_served_by_gunicorn()

    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    app.extensions["ecm_api_document"] = api.openapi.build_document
    web.register(app)
    observability.register(app)
    errors.register(app, web.ERROR_PAGES)
    headers.register(app)
    multipart.register(app)

    import worker
    from portal import cli

    cli.register(app)
    worker.init_app(app)

    if app.config["ECM_AUTO_INIT"]:
        with app.app_context():
            initialise_database(app)
    return app


@event.listens_for(Pool, "checkout")
def _closed_while_idle(dbapi_connection, _record, _proxy) -> None:
    """Replace a pooled PostgreSQL connection the server ended while it sat idle.

    This is the pool's pre-ping without its round trips (a ping cost three: BEGIN,
    SELECT 1, ROLLBACK, on every request). An idle connection has nothing to read,
    so a socket with something on it was ended by the server (a restart, an admin's
    pg_terminate_backend, an idle timeout): the pool throws it away and checks out
    another. A connection cut without a word from the server (a network cut) fails
    on its first statement instead, which answers 503 and is replaced the same way.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # SQLite, or another driver: nothing to check
        return
    if pgconn.status != 0 or select.select([pgconn.socket], [], [], 0)[0]:
        raise DisconnectionError("connection ended by the server while idle")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Foreign keys on, WAL for concurrent readers, for every SQLite connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def initialise_database(app: Flask) -> None:
    """Bring the schema up to date and create the first administrator."""
    from flask_migrate import upgrade

    from portal.services import users

    upgrade(directory=MIGRATIONS)
    password = app.config["ECM_ADMIN_PASSWORD"]
    users.ensure_admin(password, is_default=password == "admin")
