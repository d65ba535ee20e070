"""The HTML adapter: server-rendered pages with HTMX partials."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from portal.services.errors import ServiceError


def register(app: Flask) -> None:
    """Attach the portal's blueprints (filled in by the portal feature)."""


def http_error_page(exc: HTTPException):
    return exc


def service_error_page(exc: ServiceError):
    return jsonify({"error": exc.error, "message": exc.message}), exc.status
