"""What the server gives away to whoever asks (issue 17, finding 10).

Reproduced: /metrics grew a new series for each invented HTTP method and showed the
exact Python version to anyone; signed-in pages carried no `Cache-Control: no-store`,
so a shared proxy or the browser's back button could show them to the next person.
(The throttled current-password check on /account is in test_login_throttle.py.)
"""

from __future__ import annotations

import platform
import re

from tests.conftest import login_token
from tests.security.builders import portal_login

INVENTED = ["FOO", "PROPFIND", "X" * 200, "BREW", "get", "DEBUG", "TRACK", "QUERY"]


def _series(client, name: str) -> list[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_invented_methods_do_not_grow_metrics(client):
    client.get("/healthz")
    before = _series(client, "ecm_http_requests_total")
    for i, method in enumerate(INVENTED * 3):
        client.open(f"/nowhere-{i}", method=method)
        client.open("/umm/ecm/campaign", method=method + str(i))
    after = _series(client, "ecm_http_requests_total")
    text = "\n".join(after)
    for method in INVENTED:
        assert f'method="{method}"' not in text
    assert 'method="other"' in text
    # a handful of new series (method "other", per status), not one per request
    assert len(after) - len(before) <= 6


def test_metrics_do_not_tell_the_python_version(client):
    text = client.get("/metrics").get_data(as_text=True)
    assert "python_info" not in text
    assert platform.python_version() not in text
    assert not re.search(r'version="3\.\d+', text)


def test_signed_in_pages_and_api_answers_are_not_stored(app):
    browser = app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    for path in ("/campaigns", "/dnc", "/account", "/strategies"):
        res = browser.get(path)
        assert res.status_code == 200, path
        assert res.headers.get("Cache-Control") == "no-store", path
    partial = browser.get("/campaigns", headers={"HX-Request": "true"})
    assert partial.headers.get("Cache-Control") == "no-store"
    token = login_token(app.test_client(), "admin", "admin")
    api = app.test_client().get(
        "/umm/ecm/campaign", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.headers.get("Cache-Control") == "no-store"
    login = app.test_client().post(
        "/umm/api/login", json={"username": "admin", "password": "admin"}
    )
    assert login.headers.get("Cache-Control") == "no-store"  # it carries tokens


def test_static_files_stay_cacheable(client):
    res = client.get("/static/css/app.css")
    if res.status_code == 404:  # the stylesheet's name: take the first one linked
        page = client.get("/login").get_data(as_text=True)
        href = re.search(r'href="(/static/[^"]+\.css)"', page).group(1)
        res = client.get(href)
    assert res.status_code == 200
    assert res.headers.get("Cache-Control") != "no-store"
