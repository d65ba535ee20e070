"""Read-only list endpoints run without a transaction; a bad token costs no
connection (issue #15: round trips off the request path)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.conftest import login_token

READ_ONLY = [
    "/umm/ecm/campaign",
    "/umm/ecm/callStrategy",
    "/umm/ecm/contact",
]


def _isolation_of_statements(app) -> list:
    """The isolation level each statement of the next requests ran under."""
    from portal.extensions import db

    seen: list = []

    def record(conn, _cursor, _statement, *_args) -> None:
        seen.append(conn.get_execution_options().get("isolation_level"))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    return seen


def _checkouts(app) -> list:
    from portal.extensions import db

    taken: list = []
    with app.app_context():
        event.listen(db.engine.pool, "checkout", lambda *a: taken.append(1))
    return taken


@pytest.mark.parametrize("path", READ_ONLY)
def test_a_read_only_list_runs_every_statement_in_autocommit(app, client, path):
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}
    seen = _isolation_of_statements(app)
    res = client.get(path, headers=headers)
    assert res.status_code == 200, res.get_data(as_text=True)
    assert seen and set(seen) == {"AUTOCOMMIT"}, seen


def test_getlist_runs_in_autocommit_and_a_write_in_a_transaction(app, client):
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}
    seen = _isolation_of_statements(app)
    strategy = client.post(
        "/umm/ecm/callStrategy/save", json={"name": "Tx"}, headers=headers
    )
    assert strategy.status_code in (200, 201), strategy.get_data(as_text=True)
    assert seen and "AUTOCOMMIT" not in seen, seen  # the write kept its transaction
    campaign = client.post(
        "/umm/ecm/campaign/createCampaign",
        json={"name": "Tx", "strategyId": str(strategy.get_json()["id"])},
        headers=headers,
    ).get_json()
    seen.clear()
    res = client.get(
        f"/umm/ecm/callback/getList?campaignId={campaign['id']}", headers=headers
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    assert seen and set(seen) == {"AUTOCOMMIT"}, seen


@pytest.mark.parametrize("path", [*READ_ONLY, "/umm/ecm/campaign/createCampaign"])
def test_a_forged_token_is_refused_before_any_connection(app, client, path):
    login_token(client, "admin", "admin")  # the pool has made its connections
    taken = _checkouts(app)
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwianRpIjoieCJ9.bm90LXNpZ25lZA"
    method = "POST" if path.endswith("createCampaign") else "GET"
    res = client.open(
        path, method=method, headers={"Authorization": f"Bearer {forged}"}
    )
    assert res.status_code == 401
    assert taken == []
