"""gunicorn's own error answers in the API's JSON error shape.

gunicorn refuses some requests before the app sees them (a request line over
`limit_request_line`: 414; too many or too large headers: 431; a malformed request
line: 400) and answers them with an HTML page. An integrator reads every answer of
/umm as `{"error": name, "message": text}`, so create_app installs this writer when
gunicorn serves the app: gunicorn looks `gunicorn.util.write_error` up when it answers,
and create_app runs in every worker (and in the master with --preload), so this holds
wherever and however gunicorn is started, with no configuration file.
"""

from __future__ import annotations

import json
import sys

NAMES = {500: "internal_error"}  # as portal.http.errors names it


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's signature; the body is the API's error JSON."""
    from gunicorn import util

    name = NAMES.get(status_int) or reason.lower().replace(" ", "_")
    body = json.dumps({"error": name, "message": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def install_if_served_by_gunicorn() -> None:
    """Make gunicorn write its error answers as JSON, when gunicorn is running."""
    if "gunicorn.workers.base" not in sys.modules:
        return
    from gunicorn import util

    util.write_error = write_json_error
