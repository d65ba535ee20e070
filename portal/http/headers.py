"""The security headers every response carries (docs/security.md)."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.vary.add("HX-Request")
    if _private():
        response.headers["Cache-Control"] = "no-store"
    return response


def _private() -> bool:
    """Signed-in pages and API answers hold someone's data: no cache may keep them."""
    if request.endpoint == "static" or request.path.startswith("/static/"):
        return False
    if request.path.startswith("/umm") or request.endpoint == "auth.login":
        return True
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


def register(app: Flask) -> None:
    app.after_request(_security_headers)
