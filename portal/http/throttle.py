"""Login throttling shared by the API login and the portal's HTML login.

Follows the OWASP Authentication Cheat Sheet ("Account Lockout": a lockout an attacker
can trigger is a denial of service; prefer short, exponentially growing delays and
limits on the account and address together). Three counters, each counted *before* the
password is evaluated (one atomic increment in Redis or in memory), so simultaneous
guesses cannot all slip under a limit that is checked first and counted later:

- per (account, address): ``ECM_LOGIN_LIMIT`` failures, then 429 for that pair only;
- per address, across accounts: ``ECM_LOGIN_ADDRESS_LIMIT`` failures, then 429;
- per account, across addresses: ``ECM_LOGIN_LIMIT`` guesses at full speed (the last
  of them opens a gate), then one guess per delay, the delay doubling (1 s, 2 s,
  4 s ...) up to ``ECM_LOGIN_DELAY_MAX``.
  A guess waits up to ``ECM_LOGIN_MAX_WAIT`` seconds for its turn, then gets 429. An
  address that signed in to the account before skips this gate.

Nobody can lock an account: the right password from a new address is at most slowed,
and from an address the account has used it is not slowed at all. A successful sign-in
refunds its own count, so a busy integration is never throttled.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from functools import wraps

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import MemoryStorage, Storage
from werkzeug.exceptions import TooManyRequests

from portal.extensions import limiter

log = logging.getLogger(__name__)
MESSAGE = "Too many login attempts; wait a minute and try again"
PREFIX = "ecm-login"
FIRST_DELAY_SECONDS = 1
TRUSTED_ADDRESS_SECONDS = 30 * 86400
POLL_SECONDS = 0.05
_fallback = MemoryStorage()


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


def address() -> str:
    return get_remote_address() or "unknown"


def login_failed(response: Response) -> bool:
    """An attempt failed unless it signed someone in (API 200, portal redirect)."""
    if request.path.startswith("/umm"):
        return response.status_code != 200
    return response.status_code not in (301, 302, 303)


class Counters:
    """Atomic counters in the limiter's storage; in memory while Redis is down."""

    def __init__(self) -> None:
        self.storage: Storage = limiter.storage or _fallback

    def _call(self, name: str, *args):
        try:
            return getattr(self.storage, name)(*args)
        except Exception as exc:  # noqa: BLE001 - Redis down: keep throttling locally
            log.warning("login throttle: storage unavailable (%s); in memory", exc)
            self.storage = _fallback
            return getattr(_fallback, name)(*args)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", f"{PREFIX}/{key}", max(1, int(expiry)), amount))

    def get(self, key: str) -> int:
        return int(self._call("get", f"{PREFIX}/{key}") or 0)

    def expiry(self, key: str) -> float:
        return float(self._call("get_expiry", f"{PREFIX}/{key}"))


@dataclass
class Attempt:
    """One login attempt's counted place in each bucket."""

    counters: Counters
    window: int
    keys: list[str]
    account: str
    addr: str

    def refund(self) -> None:
        for key in self.keys:
            self.counters.incr(key, self.window, -1)
        self.counters.incr(
            f"trusted/{self.account}/{self.addr}", TRUSTED_ADDRESS_SECONDS
        )


def _refuse(retry_after: float) -> TooManyRequests:
    """429 with the whole seconds until a retry can pass (never too early)."""
    return TooManyRequests(
        description=MESSAGE, retry_after=max(1, math.ceil(retry_after))
    )


def _pass_account_gate(counters: Counters, account: str, count: int, limit) -> None:
    """Past the account's free guesses: wait for the next turn, doubling each time.

    The first `limit - 1` guesses of a window are free; every later one must win the
    gate (one atomic increment that only the first caller sees as 1), so however many
    arrive at once, at most `limit` are evaluated before the first delay has passed.
    """
    config = current_app.config
    if count < limit.amount:
        return
    deadline = time.monotonic() + float(config["ECM_LOGIN_MAX_WAIT"])
    while True:
        turns = counters.get(f"turns/{account}")
        delay = min(FIRST_DELAY_SECONDS * 2**turns, config["ECM_LOGIN_DELAY_MAX"])
        if counters.incr(f"gate/{account}", delay) == 1:
            counters.incr(f"turns/{account}", limit.get_expiry())
            return
        remaining = counters.expiry(f"gate/{account}") - time.time()
        if time.monotonic() + max(remaining, 0) > deadline:
            raise _refuse(remaining)
        time.sleep(max(POLL_SECONDS, min(remaining, 0.25)))


def count_attempt(account: str) -> Attempt:
    """Count one attempt in every bucket before it is evaluated, or refuse it (429)."""
    config = current_app.config
    counters = Counters()
    limit = parse(config["ECM_LOGIN_LIMIT"])
    address_limit = parse(config["ECM_LOGIN_ADDRESS_LIMIT"])
    window = limit.get_expiry()
    addr = address()
    pair_key = f"pair/{account}/{addr}"
    address_key = f"addr/{addr}"
    account_key = f"acct/{account}"
    pair = counters.incr(pair_key, window)
    at_address = counters.incr(address_key, address_limit.get_expiry())
    on_account = counters.incr(account_key, window)
    attempt = Attempt(
        counters, window, [pair_key, address_key, account_key], account, addr
    )
    if pair > limit.amount:
        raise _refuse(counters.expiry(pair_key) - time.time())
    if at_address > address_limit.amount:
        raise _refuse(counters.expiry(address_key) - time.time())
    if not counters.get(f"trusted/{account}/{addr}"):
        _pass_account_gate(counters, account, on_account, limit)
    return attempt


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def throttle_login(methods: list[str] | None = None, account=submitted_username):
    """Decorate a view that checks a password with the three counters above.

    `methods` limits only those methods (the portal's form: POST; the page itself
    stays reachable); `account` names the account the password is checked for.
    """

    def decorate(view):
        @wraps(view)
        def throttled(*args, **kwargs):
            if not _enabled() or (methods and request.method not in methods):
                return view(*args, **kwargs)
            attempt = count_attempt(account())
            response = current_app.make_response(view(*args, **kwargs))
            if not login_failed(response):
                attempt.refund()
            return response

        return throttled

    return decorate


def throttle_refresh(view):
    """Failed refreshes per address, counted before the token is looked at."""

    @wraps(view)
    def throttled(*args, **kwargs):
        if not _enabled():
            return view(*args, **kwargs)
        counters = Counters()
        limit = parse(current_app.config["ECM_LOGIN_LIMIT"])
        key = f"refresh/{address()}"
        if counters.incr(key, limit.get_expiry()) > limit.amount:
            raise _refuse(counters.expiry(key) - time.time())
        response = current_app.make_response(view(*args, **kwargs))
        if not login_failed(response):
            counters.incr(key, limit.get_expiry(), -1)
        return response

    return throttled
