"""One small retrying HTTP client for the dialer and SMS adapters, stdlib only.

Why stdlib: the adapters run inside RQ workers on any machine; urllib needs nothing
installed and keeps timeouts, retries and auth in one visible place.
"""

from __future__ import annotations

import base64
import http.client
import logging
import math
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from portal.services.dialers.base import (
    DialerAuthError,
    DialerRejected,
    DialerUnavailable,
)

log = logging.getLogger(__name__)

CISCO_RETRY_STATUSES = frozenset({429, 502, 503, 504})
ANY_5XX = frozenset(range(500, 600)) | {429}
_BODY_SNIPPET = 500


@dataclass(frozen=True)
class HttpResponse:
    """Keep what a caller needs from an answer once the socket is closed."""

    status: int
    headers: Message
    body: bytes

    def text(self) -> str:
        """Decode the body leniently: a dialer's odd bytes must not crash a tick."""
        return self.body.decode("utf-8", errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a POST bounced to a login page must fail, not half-succeed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


def basic_auth(username: str, password: str) -> str:
    """Build a preemptive Basic header: Cisco APIs never send a challenge first."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read Retry-After as seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def ssl_context(verify_tls: bool | str) -> ssl.SSLContext:
    """Honour a CA bundle path or an explicit opt-out for self-signed Cisco servers."""
    if verify_tls is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify_tls, str) and verify_tls:
        return ssl.create_default_context(cafile=verify_tls)
    return ssl.create_default_context()


class RetryingHttpClient:
    """Send a request, retrying overload and network failures with capped backoff.

    Attempts = 1 + max_retries. The wait before retry n (0-based) is the server's
    Retry-After when given, else ``backoff * 2**n``; both are capped at max_backoff
    so a hostile or confused server cannot park a worker for hours.
    401/403 raise DialerAuthError and other refusals DialerRejected at once (a retry
    would not change the answer); exhausted retries raise DialerUnavailable.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth_header: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        retry_statuses: Collection[int] = CISCO_RETRY_STATUSES,
        verify_tls: bool | str = True,
        label: str = "dialer",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        scheme = urllib.parse.urlsplit(base_url).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"{label} URL must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self._exact_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.retry_statuses = frozenset(retry_statuses)
        self.label = label
        self._headers = dict(extra_headers or {})
        if auth_header:
            self._headers["Authorization"] = auth_header
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if self.base_url.lower().startswith("https:"):
            handlers.append(
                urllib.request.HTTPSHandler(context=ssl_context(verify_tls))
            )
        self._opener = urllib.request.build_opener(*handlers)

    def url_for(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        """Join the base URL and a path, adding an encoded query string if given."""
        if path:
            url = self.base_url + "/" + path.lstrip("/")
        else:
            url = self._exact_url  # a webhook URL is used as given, slash and all
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/xml",
        query: Mapping[str, str | int] | None = None,
    ) -> HttpResponse:
        """Send one logical request, retrying as the class docstring says."""
        url = self.url_for(path, query)
        headers = {"Accept": accept, **self._headers}
        if content_type:
            headers["Content-Type"] = content_type
        failure = _Failure("no attempt made", None, None)
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            request = urllib.request.Request(
                url, data=body, headers=headers, method=method
            )
            try:
                return self._send_once(request, method, path)
            except _Retryable as retryable:
                failure = retryable.failure
            if attempt + 1 < attempts:
                self._wait_before_retry(method, path, failure, attempt)
        raise DialerUnavailable(
            f"{self.label} unavailable after {attempts} attempt(s) of "
            f"{method} {path}: {failure.problem}",
            status=failure.status,
        )

    def _send_once(
        self, request: urllib.request.Request, method: str, path: str
    ) -> HttpResponse:
        """One round trip: the answer, or _Retryable, or a refusal raised at once."""
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return HttpResponse(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            raise _Retryable(self._http_failure(error, method, path)) from None
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
            OSError,
        ) as error:
            raise _Retryable(self._network_failure(error)) from None

    def _http_failure(
        self, error: urllib.error.HTTPError, method: str, path: str
    ) -> _Failure:
        """Classify an HTTP error status: auth and refusals raise, overload retries."""
        status = error.code
        text = _read_error_body(error)
        if status in (401, 403):
            raise DialerAuthError(
                f"{self.label} refused the credentials ({status}) for {method} {path}",
                status=status,
                body=text,
            ) from None
        if status not in self.retry_statuses:
            raise DialerRejected(
                f"{self.label} answered {status} to {method} {path}: "
                f"{text[:_BODY_SNIPPET]}",
                status=status,
                body=text,
            ) from None
        retry_after = parse_retry_after(error.headers.get("Retry-After"))
        problem = f"HTTP {status}: {text[:_BODY_SNIPPET].strip()}"
        return _Failure(problem, status, retry_after)

    def _network_failure(self, error: OSError | http.client.HTTPException) -> _Failure:
        """A failure below HTTP: retried, except a TLS certificate we do not trust."""
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise DialerUnavailable(
                f"{self.label} TLS certificate not trusted ({reason}); "
                "install its CA or set ECM_DIALER_VERIFY_TLS"
            ) from None
        return _Failure(f"{type(reason).__name__}: {reason}", None, None)

    def _wait_before_retry(
        self, method: str, path: str, failure: _Failure, attempt: int
    ) -> None:
        """Sleep the server's Retry-After (capped) or the exponential backoff."""
        delay = self._backoff_delay(attempt)
        if failure.retry_after is not None:
            delay = min(failure.retry_after, self.max_backoff)
        log.warning(
            "%s %s %s failed (%s); retry %d/%d in %.1fs",
            self.label,
            method,
            path,
            failure.problem,
            attempt + 1,
            self.max_retries,
            delay,
        )
        self.sleep(delay)

    def _backoff_delay(self, attempt: int) -> float:
        return min(self.backoff * (2**attempt), self.max_backoff)


@dataclass(frozen=True)
class _Failure:
    """Why one try failed in a way worth retrying, and the server's wait if it said."""

    problem: str
    status: int | None
    retry_after: float | None


class _Retryable(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.problem)
        self.failure = failure


def _read_error_body(error: urllib.error.HTTPError) -> str:
    try:
        return error.read().decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException, ValueError):
        return ""
    finally:
        error.close()
