"""Security headers on every kind of response; a portal that needs no inline code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.security.builders import portal_login

ROOT = Path(__file__).resolve().parents[2]
META = re.compile(r'<meta name="htmx-config" content=\'([^\']+)\'>')


def csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_hardened(res, where: str) -> None:
    headers = res.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    csp = csp_directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("script-src") == ["'self'"], where
    assert csp.get("style-src") == ["'self'"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("object-src") == ["'none'"], where
    assert csp.get("base-uri") == ["'self'"], where
    assert csp.get("form-action") == ["'self'"], where
    flat = " ".join(" ".join(v) for v in csp.values())
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        if loose == "data:":
            assert loose not in " ".join(csp.get("script-src", [])), where
            continue
        assert loose not in flat.split(), (where, loose)


@pytest.fixture
def signed_in(app):
    client = app.test_client()
    assert portal_login(client, "admin", "admin").status_code in (302, 303)
    return client


def test_every_kind_of_response_carries_the_headers(signed_in, client, api):
    responses = {
        "login page": client.get("/login"),
        "portal page": signed_in.get("/campaigns"),
        "htmx partial": signed_in.get("/campaigns", headers={"HX-Request": "true"}),
        "portal 404": signed_in.get("/no-such-page"),
        "api json": api.get("/umm/ecm/campaign"),
        "api 401": client.get("/umm/ecm/campaign"),
        "api 404": api.get("/umm/ecm/nothing-here"),
        "openapi": client.get("/umm/openapi.json"),
        "healthz": client.get("/healthz"),
        "metrics": client.get("/metrics"),
        "static js": client.get("/static/js/app.js"),
        "csv export": api.get("/umm/ecm/audit.csv"),
    }
    for where, res in responses.items():
        assert_hardened(res, where)
    assert "HX-Request" in responses["portal page"].headers.get("Vary", "")


def test_htmx_is_configured_to_need_no_eval(signed_in):
    html = signed_in.get("/campaigns").get_data(as_text=True)
    match = META.search(html)
    assert match, "base.html must configure htmx through its meta tag"
    config = json.loads(match.group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True
    # htmx would otherwise inject an inline <style> the CSP refuses
    assert config["includeIndicatorStyles"] is False


def test_templates_use_no_eval_dependent_htmx_features():
    """allowEval=false disables hx-on, hx-vars, js: values and trigger filters."""
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"hx-on[:-]", text), path
        assert "hx-vars" not in text, path
        assert not re.search(r"hx-vals=['\"]\s*js:", text), path
        assert not re.search(r"hx-trigger=\"[^\"]*\[", text), path


PAGES = [
    "/",
    "/campaigns",
    "/campaigns/new",
    "/strategies",
    "/dnc",
    "/settings/users",
    "/settings/audit",
    "/settings/preferences",
    "/settings/api",
    "/account",
    "/login",
]


def test_pages_have_no_inline_script_or_style(signed_in):
    for path in PAGES:
        res = signed_in.get(path)
        if res.status_code in (302, 303):
            res = signed_in.get(res.headers["Location"])
        assert res.status_code == 200, path
        html = res.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            src = re.search(r'src="([^"]+)"', tag)
            assert src and src.group(1).startswith("/static/"), (path, tag)
        assert not re.search(r"<style\b", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "javascript:" not in html, path
        for href in re.findall(r'<link[^>]+href="([^"]+)"', html):
            assert href.startswith("/static/") or href == "data:,", (path, href)
