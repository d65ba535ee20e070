"""PostgreSQL connection lost mid-request: a clean 503, nothing half-written.

The app's own connection is ended with pg_terminate_backend at a chosen statement of a
write (after the row is inserted, before its audit row and the commit). Only connections
carrying this test's application_name are ever terminated.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import event, func, select

from tests.conftest import BACKENDS, PG_URL, login_token
from tests.security.builders import as_admin, new_strategy


@pytest.fixture
def backend():
    """Connection loss is a PostgreSQL behaviour (SQLite has no server to lose)."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is not among ECM_TEST_DATABASES")
    return "postgresql"


@pytest.fixture
def tagged_app(app_factory):
    """An app whose connections carry a unique application_name."""
    name = f"ecm-fault-{uuid.uuid4().hex[:10]}"
    app = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": False,  # as in production: the checkout socket check
            "pool_size": 2,
            "connect_args": {"application_name": name},
        }
    )
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    app.config["FAULT_APP_NAME"] = name
    return app


def _admin_connection():
    return psycopg.connect(
        PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )


def terminate(pid: int, application_name: str) -> bool:
    """End one backend of ours (never anyone else's), waiting until it is gone."""
    with _admin_connection() as conn:
        row = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE pid = %s AND application_name = %s",
            (pid, application_name),
        ).fetchone()
    return bool(row and row[0])


class KillOn:
    """Terminate the app's connection just before a statement matching `prefix` runs."""

    def __init__(self, app, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.fired = False
        with app.app_context():
            from portal.extensions import db

            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        if self.fired or not statement.lstrip().upper().startswith(self.prefix):
            return
        self.fired = True
        pid = conn.connection.dbapi_connection.info.backend_pid
        assert terminate(pid, self.app.config["FAULT_APP_NAME"])

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)


def _count(app, model, *where) -> int:
    with app.app_context():
        from portal.extensions import db

        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_connection_lost_mid_write_is_a_clean_503_with_nothing_half_written(tagged_app):
    from portal.models import AuditLog, Campaign

    app = tagged_app
    client = app.test_client()
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}
    strategy_id = as_admin(app, lambda admin: new_strategy(admin).id)
    campaigns_before = _count(app, Campaign)
    audit_before = _count(app, AuditLog)

    killer = KillOn(app, "INSERT INTO AUDIT_LOG")  # the campaign row is already sent
    try:
        res = client.post(
            "/umm/ecm/campaign/createCampaign",
            json={"name": "Lost midway", "strategyId": strategy_id},
            headers=headers,
        )
    finally:
        killer.remove()
    assert killer.fired
    assert res.status_code == 503
    assert res.get_json() == {
        "error": "service_unavailable",
        "message": "The database is unavailable; try again",
    }
    assert _count(app, Campaign) == campaigns_before
    assert _count(app, Campaign, Campaign.name == "Lost midway") == 0
    assert _count(app, AuditLog) == audit_before

    # the app recovers by itself: the same request now succeeds, exactly once
    again = client.post(
        "/umm/ecm/campaign/createCampaign",
        json={"name": "Lost midway", "strategyId": strategy_id},
        headers=headers,
    )
    assert again.status_code == 201, again.get_data(as_text=True)
    assert _count(app, Campaign, Campaign.name == "Lost midway") == 1


def test_contact_insert_interrupted_leaves_no_contact(tagged_app):
    from portal.models import Contact

    app = tagged_app
    client = app.test_client()
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}

    def make(admin):
        from tests.security.builders import new_campaign

        return new_campaign(admin).id

    campaign_id = as_admin(app, make)
    killer = KillOn(app, "INSERT INTO AUDIT_LOG")
    try:
        res = client.post(
            "/umm/ecm/callback/insertCallback",
            json={"campaignId": campaign_id, "phone1": "+14155550100"},
            headers=headers,
        )
    finally:
        killer.remove()
    assert res.status_code == 503
    assert res.get_json()["error"] == "service_unavailable"
    assert _count(app, Contact) == 0


def test_connection_killed_while_idle_is_replaced_silently(tagged_app):
    """A pooled connection that died between requests (DB restart, idle timeout)."""
    app = tagged_app
    client = app.test_client()
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}
    assert client.get("/umm/ecm/campaign", headers=headers).status_code == 200
    with _admin_connection() as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (app.config["FAULT_APP_NAME"],),
            )
        ]
    assert pids
    for pid in pids:
        terminate(pid, app.config["FAULT_APP_NAME"])
    assert client.get("/umm/ecm/campaign", headers=headers).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_portal_page_during_connection_loss_is_503_not_500(tagged_app):
    from tests.security.builders import portal_login

    app = tagged_app
    browser = app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    killer = KillOn(app, "SELECT")
    try:
        res = browser.get("/campaigns")
    finally:
        killer.remove()
    assert killer.fired
    assert res.status_code == 503
    assert browser.get("/campaigns").status_code == 200
