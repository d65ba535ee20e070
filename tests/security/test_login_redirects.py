"""After sign-in the portal follows only a strict local path (issue 17, finding 6).

Reproduced: a `next` with a control character became `Location: //another-site`
once the form was submitted (browsers strip tabs and newlines inside URLs), and a
`next` with CR/LF answered 500. Every variant below must land on a local page.
"""

from __future__ import annotations

import pytest

from tests.security.builders import csrf_token

HOSTILE = [
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "/\r\nSet-Cookie: planted=1",
    "\r\n",
    "/dnc\r\nLocation: https://evil.example",
    "https://evil.example",
    "HTTPS://evil.example",
    "http:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/" + "a" * 5000,
    "",
]


def _sign_in(client, next_value: str):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={
            "username": "admin",
            "password": "admin",
            "next": next_value,
            "csrf_token": token,
        },
    )


@pytest.mark.parametrize("target", HOSTILE, ids=[repr(t)[:40] for t in HOSTILE])
def test_hostile_next_lands_on_a_local_page(app, target):
    client = app.test_client()
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200
    res = _sign_in(client, target)
    assert res.status_code == 302, res.get_data(as_text=True)[:200]
    location = res.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "evil" not in location
    assert all(ch.isprintable() and not ch.isspace() for ch in location)


@pytest.mark.parametrize(
    "target", ["/dnc", "/campaigns?page=2", "/dnc?q=%2F%2Fx#top", "/settings/users"]
)
def test_a_local_next_is_followed(app, target):
    client = app.test_client()
    client.get("/login", query_string={"next": target})
    res = _sign_in(client, target)
    assert res.status_code == 302
    assert res.headers["Location"] == target
