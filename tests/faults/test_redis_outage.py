"""Redis killed and restarted while the portal, a worker and the scheduler run.

The portal keeps answering (uploads get a 503 'queue unavailable' in the JSON error
shape, health and dashboard say so, everything that needs only the database works),
and work resumes by itself once Redis is back: uploads import, the feed ticks again.
"""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from tests.conftest import login_token
from tests.faults.processes import (
    RedisServer,
    process_env,
    spawn_flask,
    stop,
    wait_for,
)
from tests.security.builders import as_admin, new_campaign, portal_login

CSV = "".join(f"+1415555{1000 + i},Name {i}\n" for i in range(20)).encode()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def production(app_factory, redis_server, tmp_path):
    """The portal in production mode on a private Redis, plus a worker and scheduler."""
    app = app_factory(
        REDIS_URL=redis_server.url,
        EMBEDDED=False,
        ECM_FEED_INTERVAL=1,
        RATELIMIT_ENABLED=True,  # the throttle also lives in this Redis
    )
    as_admin_ready(app)
    env = process_env(
        app.config["SQLALCHEMY_DATABASE_URI"],
        redis_server.url,
        ECM_FEED_INTERVAL="1",
        ECM_UPLOAD_DIR=app.config["ECM_UPLOAD_DIR"],
    )
    worker = spawn_flask(["worker"], env, tmp_path / "worker.log")
    scheduler = spawn_flask(["scheduler"], env, tmp_path / "scheduler.log")
    yield app, worker, scheduler
    stop(worker)
    stop(scheduler)


def as_admin_ready(app) -> None:
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)


def _upload(client, headers, campaign_id: int, data: bytes = CSV):
    return client.post(
        "/umm/ecm/callback/uploadBulkCaller",
        data={"campaignId": str(campaign_id), "file": (io.BytesIO(data), "list.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def _upload_state(client, headers, upload_id: int) -> str:
    return client.get(f"/umm/ecm/upload/{upload_id}", headers=headers).get_json()[
        "state"
    ]


def _last_tick(app):
    with app.app_context():
        from portal.services.feed.tick import last_heartbeat

        beat = last_heartbeat()
        return beat.at if beat else None


def test_redis_restart_is_survived_and_work_resumes(production, redis_server, tmp_path):
    app, worker, scheduler = production
    client = app.test_client()
    headers = {"Authorization": f"Bearer {login_token(client, 'admin', 'admin')}"}
    campaign_id = as_admin(app, lambda admin: new_campaign(admin).id)

    # 1. everything runs: an upload is imported by the worker, the feed ticks
    first = _upload(client, headers, campaign_id)
    assert first.status_code == 200, first.get_data(as_text=True)
    wait_for(
        lambda: _upload_state(client, headers, first.get_json()["uploadId"]) == "done",
        60,
        "the worker never imported the first upload: "
        + (tmp_path / "worker.log").read_text(errors="replace")[-2000:],
    )
    wait_for(lambda: _last_tick(app), 30, "the feed never ticked")

    # 2. Redis dies
    redis_server.kill()
    down = _upload(client, headers, campaign_id, CSV + b"+14155552000,Late\n")
    assert down.status_code == 503
    assert down.get_json() == {
        "error": "service_unavailable",
        "message": "The job queue is unavailable; try again shortly",
    }
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["queue"] == {"ok": False, "state": "queue unavailable"}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'ecm_up{component="queue"} 0.0' in metrics
    # what needs only the database keeps working
    assert client.get("/umm/ecm/campaign", headers=headers).status_code == 200
    added = client.post(
        "/umm/ecm/callback/insertCallback",
        json={"campaignId": campaign_id, "phone1": "+14155553000"},
        headers=headers,
    )
    assert added.status_code == 200
    browser = app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    dashboard = browser.get("/")
    assert dashboard.status_code == 200
    assert "queue unavailable" in dashboard.get_data(as_text=True)
    # the refused upload left nothing half-done: marked failed, no contacts from it
    with app.app_context():
        from portal.extensions import db
        from portal.models import Contact, Upload

        refused = db.session.scalars(select(Upload).order_by(Upload.id.desc())).first()
        assert refused.state == "failed"
        assert "queue" in refused.error_message
        count = select(func.count()).where(Contact.upload_id == refused.id)
        assert db.session.scalar(count) == 0
    assert worker.poll() is None, "the worker process died with Redis"
    assert scheduler.poll() is None, "the scheduler process died with Redis"

    # 3. Redis comes back (empty: no persistence); work resumes on its own
    tick_before = _last_tick(app)
    redis_server.start()
    again = _upload(client, headers, campaign_id, CSV + b"+14155552000,Late\n")
    assert again.status_code == 200, again.get_data(as_text=True)
    wait_for(
        lambda: _upload_state(client, headers, again.get_json()["uploadId"]) == "done",
        90,
        "the worker did not resume after Redis came back: "
        + (tmp_path / "worker.log").read_text(errors="replace")[-2000:],
    )
    wait_for(
        lambda: (_last_tick(app) or tick_before) > tick_before,
        60,
        "the feed did not tick again after Redis came back: "
        + (tmp_path / "scheduler.log").read_text(errors="replace")[-2000:],
    )
    time.sleep(0.1)
    assert client.get("/healthz").get_json()["queue"]["state"] == "available"
