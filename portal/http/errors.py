"""Every error handler of the app, registered once.

A request to the API (/umm), /healthz or /metrics gets the API's one JSON error shape,
`{"error": name, "message": text, "fields": {...}}`; any other request gets the
portal's page, or a notice when HTMX swaps a fragment. No error becomes a 500 page
with a traceback: services raise `ServiceError`s, werkzeug raises `HTTPException`s,
and a database or Redis outage is a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from portal.extensions import db
from portal.services.errors import (
    ServiceError,
    ServiceUnavailable,
    from_integrity_error,
)
from portal.services.uploads import too_large_message

log = logging.getLogger(__name__)

JSON_PATHS = ("/healthz", "/metrics")
HTTP_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
DATABASE_DOWN = "The database is unavailable; try again"


def wants_json() -> bool:
    """True for the API and the machine endpoints; the portal gets pages."""
    return request.path.startswith("/umm") or request.path in JSON_PATHS


def error_response(
    status: int, error: str, message: str, fields: dict | None = None
) -> Response:
    """The API's error shape."""
    payload: dict[str, Any] = {"error": error, "message": message}
    if fields:
        payload["fields"] = fields
    response = jsonify(payload)
    response.status_code = status
    return response


def http_error_as_json(exc: HTTPException) -> Response:
    """werkzeug's HTTP errors in the API's error shape (Allow and Retry-After kept)."""
    db.session.rollback()
    code = exc.code or 500
    response = error_response(
        code, HTTP_ERROR_NAMES.get(code, "error"), exc.description or exc.name
    )
    if code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    if code == 429:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", None) or 60)
    return response


@dataclass(frozen=True)
class Pages:
    """How the portal shows an error (portal/web provides these)."""

    http_error: Callable[[HTTPException], Any]
    service_error: Callable[[ServiceError], Any]


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone
        pass


def register(app: Flask, pages: Pages) -> None:
    """Attach the handlers: HTTP errors, service errors, database and queue outages."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            return http_error_as_json(exc)
        return pages.http_error(exc)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        """Name the limit (ECM_MAX_UPLOAD_MB) instead of werkzeug's vague text."""
        exc.description = too_large_message()
        return _http_error(exc)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        db.session.rollback()
        if wants_json():
            return error_response(exc.status, exc.error, exc.message, exc.fields)
        return pages.service_error(exc)

    @app.errorhandler(IntegrityError)
    def _integrity_error(exc: IntegrityError):
        """Two requests raced past a service's own check: the same 406 it gives."""
        return _service_error(from_integrity_error(exc))

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database_down(exc: Exception):
        log.warning("database error: %s", exc)
        _rollback_quietly()
        if wants_json():
            return error_response(503, "service_unavailable", DATABASE_DOWN)
        return f"{DATABASE_DOWN} shortly.", 503

    @app.errorhandler(RedisError)
    def _queue_down(exc: RedisError):
        """Redis gone (restart, network): answer 503 'queue unavailable', never 500."""
        log.warning("queue error: %s", exc)
        _rollback_quietly()
        error = ServiceUnavailable("The queue is unavailable; try again shortly")
        if wants_json():
            return error_response(error.status, error.error, error.message)
        return pages.service_error(error)
