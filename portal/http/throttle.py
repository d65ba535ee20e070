"""Login throttling shared by the API login and the portal's HTML login.

Both logins draw on the same two buckets (per account, per address), so an attacker
gains nothing by alternating between them. Only failed attempts are counted, so a busy
integration that logs in often is never locked out; the 429 reads the same whether or
not the account exists.
"""

from __future__ import annotations

import json

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address

from portal.extensions import limiter

MESSAGE = "Too many login attempts; wait a minute and try again"
USER_SCOPE = "login-user"
ADDRESS_SCOPE = "login-address"


def login_limit() -> str:
    return current_app.config["ECM_LOGIN_LIMIT"]


def submitted_username() -> str:
    """The username a login request names (form field or JSON body), normalised."""
    name = request.form.get("username") if request.form else None
    if name is None:
        try:
            payload = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, UnicodeDecodeError):
            payload = None
        if isinstance(payload, dict):
            name = payload.get("username")
    return str(name or "")[:80].strip().lower()


def username_key() -> str:
    return f"user:{submitted_username()}"


def address_key() -> str:
    return f"addr:{get_remote_address()}"


def login_failed(response: Response) -> bool:
    """Count an attempt unless it signed someone in (API 200, portal redirect)."""
    if request.path.startswith("/umm"):
        return response.status_code != 200
    return response.status_code not in (301, 302, 303)


def throttle_login(methods: list[str] | None = None):
    """Decorate a login view with the per-account and per-address limits.

    `methods` limits only those methods (the portal's form: POST; the page itself
    stays reachable).
    """

    def shared(scope: str, key_func):
        return limiter.shared_limit(
            login_limit,
            scope=scope,
            key_func=key_func,
            methods=methods,
            error_message=MESSAGE,
            deduct_when=login_failed,
        )

    def decorate(view):
        limited = shared(ADDRESS_SCOPE, address_key)(view)
        return shared(USER_SCOPE, username_key)(limited)

    return decorate
