"""Fake external services (Cisco dialers, SMS gateway) served on loopback for tests.

Each fake is a small WSGI app run by werkzeug in a daemon thread; tests point the
real adapters at ``fake.url``. Shared behaviour lives in FakeServer: request log,
an overload mode (N answers of 503 with Retry-After, optionally after some
successes) and a hang mode (never answers within the client's timeout).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class RecordedRequest:
    """Keep what a test may want to assert about one request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = field(repr=False)


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:  # noqa: A002
        """Keep test output clean: no access log lines."""


class FakeServer:
    """Serve ``route`` on 127.0.0.1 with overload/hang modes common to every fake."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.overload_times = 0
        self.overload_after = 0
        self.overload_status = 503
        self.overload_body = "Service Unavailable"
        self.retry_after: str | None = None
        self.hang_seconds = 0.0
        self.url = ""
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None

    def overload(
        self,
        times: int,
        *,
        retry_after: str | int | None = None,
        after: int = 0,
        status: int = 503,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests, after ``after`` good."""
        self.overload_times = times
        self.overload_after = after
        self.overload_status = status
        self.retry_after = None if retry_after is None else str(retry_after)

    def start(self) -> str:
        """Listen on a free loopback port and return the base URL."""
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Release hanging handlers and stop serving."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests_to(self, method: str, path_suffix: str = "") -> list[RecordedRequest]:
        """Filter the log by method and path ending."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method and r.path.endswith(path_suffix)
            ]

    def authorized(self, request: Request) -> bool:
        """Override to check credentials; the base fake accepts everyone."""
        return True

    def route(self, request: Request) -> Response:
        """Override with the fake's protocol."""
        return Response("not found", status=404)

    def _wsgi(self, environ, start_response):  # noqa: ANN001
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.args),
                    dict(request.headers),
                    body,
                )
            )
            overloaded = False
            if self.overload_after > 0:
                self.overload_after -= 1
            elif self.overload_times > 0:
                self.overload_times -= 1
                overloaded = True
        if self.hang_seconds:
            self._release.wait(self.hang_seconds)
        if not self.authorized(request):
            response = Response(
                "Unauthorized",
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="fake"'},
            )
        elif overloaded:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            response = Response(
                self.overload_body, status=self.overload_status, headers=headers
            )
        else:
            response = self.route(request)
        return response(environ, start_response)
