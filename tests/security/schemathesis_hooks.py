"""Hooks for the schemathesis CLI run (test_schemathesis_cli.py), loaded through
SCHEMATHESIS_HOOKS as schemathesis's documentation describes.

Authentication is schemathesis's dynamic auth provider: it signs in once through
/umm/api/login and reuses the token. `/umm/api/logout` ends the token it is called
with, so it gets a token of its own (`cache_by_key`), and a 401 after a logout makes
schemathesis sign in again (`retry_on`, 401 by default), so no operation is left out.
"""

from __future__ import annotations

import json
import os
import urllib.request

import schemathesis

LOGOUT = "/umm/api/logout"


def _cache_key(case, context) -> str:
    return "logout" if case.path == LOGOUT else "api"


@schemathesis.auth(cache_by_key=_cache_key)
class PortalLogin:
    def get(self, case, context):
        body = json.dumps(
            {"username": "admin", "password": os.environ["ECM_FUZZ_PASSWORD"]}
        ).encode()
        request = urllib.request.Request(
            os.environ["ECM_FUZZ_URL"] + "/umm/api/login",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as res:  # noqa: S310
            return json.load(res)["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
