"""/healthz and /metrics: what an operator and Prometheus see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
from prometheus_client.parser import text_string_to_metric_families

from tests.security.builders import new_campaign, new_contact

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_healthz_reports_each_component(client, ctx):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.mimetype == "application/json"
    body = res.get_json()
    assert body["database"] == {"ok": True}
    assert body["queue"]["state"] == "available"
    assert body["queue"]["depth"] == 0
    assert body["feed"]["lastTick"] is None
    assert body["status"] == "degraded"  # no feed tick yet, no worker in this test app
    assert res.headers["Cache-Control"] == "no-store"


def test_healthz_shows_the_last_feed_tick(client, ctx):
    from portal.extensions import db
    from portal.models import FeedHeartbeat, utcnow

    db.session.add(FeedHeartbeat(name="feed-tick", at=utcnow() - timedelta(seconds=4)))
    db.session.commit()
    feed = client.get("/healthz").get_json()["feed"]
    assert feed["ok"] is True
    assert 3 <= feed["ageSeconds"] < 30
    assert feed["lastTick"].endswith("Z")

    db.session.get(FeedHeartbeat, "feed-tick").at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    feed = client.get("/healthz").get_json()["feed"]
    assert feed["ok"] is False  # stale: more than three intervals old


def test_healthz_is_503_when_the_database_is_down(app_factory):
    app_factory()  # the first app is the one whose data the fixture wipes
    down = app_factory(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    res = down.test_client().get("/healthz")
    assert res.status_code == 503
    body = res.get_json()
    assert body["status"] == "down"
    assert body["database"]["ok"] is False
    assert body["queue"]["state"] == "available"
    # and an API call answers 503 in the JSON error shape, not 500
    token = jwt.encode(
        {
            "sub": "1",
            "jti": "j",
            "typ": "access",
            "sv": 1,
            "exp": int(time.time()) + 60,
        },
        down.config["JWT_SECRET"],
        algorithm="HS256",
    )
    api = down.test_client().get(
        "/umm/ecm/campaign", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 503
    assert api.get_json() == {
        "error": "service_unavailable",
        "message": "The database is unavailable; try again",
    }


def test_healthz_needs_no_credentials_and_leaks_nothing(client):
    text = client.get("/healthz").get_data(as_text=True)
    for secret in ("test-secret-key", "test-jwt-secret", "postgres@", "sqlite:///"):
        assert secret not in text


def test_metrics_counts_requests_by_route_and_status(api, client):
    api.get("/umm/ecm/campaign")
    api.get("/umm/ecm/campaign")
    client.get("/umm/ecm/campaign")  # 401
    res = client.get("/metrics")
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("text/plain")
    samples = _samples(res.get_data(as_text=True))
    ok = samples[
        (
            "ecm_http_requests_total",
            (("endpoint", "/umm/ecm/campaign"), ("method", "GET"), ("status", "200")),
        )
    ]
    denied = samples[
        (
            "ecm_http_requests_total",
            (("endpoint", "/umm/ecm/campaign"), ("method", "GET"), ("status", "401")),
        )
    ]
    assert ok >= 2 and denied >= 1
    assert (
        "ecm_http_request_duration_seconds_count",
        (("endpoint", "/umm/ecm/campaign"),),
    ) in samples


def _backdate(campaign, minutes: int) -> None:
    """Pretend the campaign was last changed (created, resumed) minutes ago."""
    from sqlalchemy import update

    from portal.extensions import db
    from portal.models import Campaign, utcnow

    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(last_updated=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def _ago(minutes: int) -> str:
    from portal.models import utcnow

    return (utcnow() - timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


def test_metrics_has_queue_depth_and_feed_lag(client, admin):
    campaign = new_campaign(admin)
    new_contact(admin, campaign, "+14155550111", dialTime=_ago(10))
    new_contact(admin, campaign, "+14155550113", dialTime=_ago(-30))  # not due yet
    _backdate(campaign, 60)
    paused = new_campaign(admin, status=0)
    new_contact(admin, paused, "+14155550112", dialTime=_ago(300))  # paused: no lag
    _backdate(paused, 600)
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    lag = samples[("ecm_feed_lag_seconds", ())]
    assert 600 <= lag < 900
    assert samples[("ecm_queue_depth", ())] == 0
    assert samples[("ecm_up", (("component", "database"),))] == 1
    assert samples[("ecm_up", (("component", "queue"),))] == 1


def test_feed_lag_counts_from_when_dialing_became_possible(ctx, admin):
    from portal.services.stats import feed_lag_seconds

    resumed = new_campaign(admin)
    new_contact(admin, resumed, "+14155550121", dialTime=_ago(120))
    _backdate(resumed, 2)  # resumed two minutes ago: the wait is two minutes
    assert 110 <= feed_lag_seconds() < 130


def test_feed_lag_ignores_campaigns_outside_their_calling_days(ctx, admin):
    from portal.models import utcnow
    from portal.services.stats import feed_lag_seconds

    today = utcnow().isoweekday() % 7
    other_days = ",".join(str(d) for d in range(7) if d != today)
    closed = new_campaign(admin, weekDays=other_days, timeZone="UTC")
    new_contact(admin, closed, "+14155550122", dialTime=_ago(600))
    _backdate(closed, 900)
    assert feed_lag_seconds() == 0


def test_counters_other_modules_increment_are_exported(client):
    """Label values no product code uses, so a feed or import running elsewhere in
    the process cannot move these series between the two scrapes (CI once counted
    28 voice dispatches where the test added 3)."""
    from portal import metrics

    before = _samples(client.get("/metrics").get_data(as_text=True))
    dispatches = ("ecm_dispatches_total", (("channel", "metrics-test"),))
    rows = (
        "ecm_import_rows_total",
        (("kind", "metrics-test"), ("outcome", "accepted")),
    )
    metrics.DISPATCHES.labels(channel="metrics-test").inc(3)
    metrics.IMPORT_ROWS.labels(kind="metrics-test", outcome="accepted").inc(5)
    after = _samples(client.get("/metrics").get_data(as_text=True))
    assert after[dispatches] - before.get(dispatches, 0) == 3
    assert after[rows] - before.get(rows, 0) == 5


def test_metrics_token_when_configured(app_factory):
    app = app_factory(ECM_METRICS_TOKEN="scrape-secret")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    res = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert res.status_code == 200


def test_multiprocess_mode_sums_processes(tmp_path, backend):
    """With PROMETHEUS_MULTIPROC_DIR, a scrape sees what other processes counted."""
    if backend != "sqlite":
        return  # process plumbing, not database behaviour
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "from portal import metrics; metrics.RESULTS.labels(call_result='10').inc(7)"
    )
    subprocess.run([sys.executable, "-c", worker], env=env, check=True, cwd=ROOT)
    scrape = (  # the web process reads PROMETHEUS_MULTIPROC_DIR through Config
        "from portal import create_app\n"
        "app = create_app({'TESTING': True, 'ECM_AUTO_INIT': True,\n"
        f"    'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'm.sqlite3'}',\n"
        "    'ECM_START_WORKER': False})\n"
        "print(app.test_client().get('/metrics').get_data(as_text=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", scrape],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert 'ecm_call_results_total{call_result="10"} 7.0' in out
