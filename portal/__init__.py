"""ECM Portal: an outbound campaign manager wire-compatible with the ECM API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from portal import queue
from portal.config import Config
from portal.extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")
log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: extensions, the API and portal blueprints, the CLI, the worker."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
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
    if not settings.TESTING:
        settings.check_production_safety()
    app.config.from_object(settings)

    queue.init_app(app)  # before anything can start a thread that uses it
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portal import api, observability, web

    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    web.register(app)
    observability.register(app)
    _register_errors(app)
    _register_headers(app)

    import worker
    from portal import cli

    cli.register(app)
    worker.init_app(app)

    if app.config["ECM_AUTO_INIT"]:
        with app.app_context():
            initialise_database(app)
    return app


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


def wants_json() -> bool:
    return request.path.startswith("/umm") or request.path in ("/healthz", "/metrics")


def _register_errors(app: Flask) -> None:
    from portal.api.core import error_response, http_error_as_json
    from portal.services.errors import ServiceError

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            return http_error_as_json(exc)
        from portal import web

        return web.http_error_page(exc)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        db.session.rollback()
        if wants_json():
            return error_response(exc.status, exc.error, exc.message, exc.fields)
        from portal import web

        return web.service_error_page(exc)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database_down(exc: Exception):
        log.warning("database error: %s", exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass
        if wants_json():
            return error_response(
                503, "service_unavailable", "The database is unavailable; try again"
            )
        return "The database is unavailable; try again shortly.", 503


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _register_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.vary.add("HX-Request")
        return response
