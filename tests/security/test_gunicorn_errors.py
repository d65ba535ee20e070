"""gunicorn's own refusals answer in the API's JSON error shape (issue #17, finding 11).

A request line over gunicorn's limit never reaches the app: gunicorn answers 414 (and
431 for headers too large). create_app, under gunicorn, makes that answer the
documented JSON error instead of gunicorn's HTML page, with no configuration file:
the test starts gunicorn outside the repository folder.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys

import pytest

from tests.conftest import REDIS_URL
from tests.faults.processes import process_env, stop, wait_for
from tests.readme.product import Client, free_port


@pytest.fixture(scope="module")
def backend():
    return "none"


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """gunicorn as the README starts it, from a folder of its own."""
    folder = tmp_path_factory.mktemp("gunicorn-errors")
    env = process_env(f"sqlite:///{folder / 'portal.db'}", REDIS_URL)
    port = free_port()
    log = folder / "gunicorn.log"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--no-control-socket"]
        + ["-b", f"127.0.0.1:{port}", "portal:create_app()"],
        cwd=folder,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(Client(url).up, 60, f"gunicorn did not start:\n{log.read_text()}")
        yield port
    finally:
        stop(web)


def _get(port: int, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.getheader("Content-Type"), res.read()
    finally:
        conn.close()


def test_a_request_line_over_the_limit_is_a_json_414(gunicorn):
    path = "/umm/ecm/callback/getList?phone=" + "4" * 5000
    status, kind, body = _get(gunicorn, path)
    assert status == 414, body[:300]
    assert kind == "application/json"
    error = json.loads(body)
    assert error["error"] == "uri_too_long"
    assert "Request Line is too large" in error["message"]
    # just under the limit, the app answers (401: no token), not gunicorn
    status, kind, body = _get(gunicorn, "/umm/ecm/callback/getList?q=" + "4" * 3900)
    assert (status, kind) == (401, "application/json"), body[:300]


def test_headers_over_the_limit_are_a_json_431(gunicorn):
    headers = {f"X-Filler-{n}": "x" for n in range(120)}  # gunicorn allows 100
    status, kind, body = _get(gunicorn, "/umm/ecm/callback/getList", headers)
    assert status == 431, body[:300]
    assert kind == "application/json"
    assert json.loads(body)["error"] == "request_header_fields_too_large"


def test_the_document_lists_both_answers_on_every_operation(gunicorn):
    status, _, body = _get(gunicorn, "/umm/openapi.json")
    assert status == 200
    document = json.loads(body)
    for path, item in document["paths"].items():
        for method, op in item.items():
            for code in ("414", "431"):
                answer = op["responses"][code]["content"]["application/json"]
                assert answer["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    method,
                    path,
                )
