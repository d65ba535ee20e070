"""/healthz and /metrics, request counting, and the queue-unavailable answer."""

from __future__ import annotations

import hmac
import logging
import os
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import func, select, text

from portal import metrics
from portal import queue as q
from portal.extensions import db
from portal.models import Campaign, Contact, FeedHeartbeat, utcnow
from portal.services.enums import PENDING
from portal.services.errors import ServiceUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("observability", __name__)
FEED_HEARTBEAT = "feed-tick"
QUEUE_UNAVAILABLE = "queue unavailable"


def _database_status() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        log.warning("health: database check failed: %s", exc)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass
        return {"ok": False, "error": "database unavailable"}


def _queue_status() -> dict[str, Any]:
    conn = q.connection()
    try:
        conn.ping()
        depth = q.queue().count
    except RedisError as exc:
        log.warning("health: queue check failed: %s", exc)
        return {"ok": False, "state": QUEUE_UNAVAILABLE}
    return {"ok": True, "state": "available", "depth": depth}


def _worker_status(queue_ok: bool) -> dict[str, Any]:
    runner = current_app.extensions.get("ecm_embedded_runner")
    if current_app.config.get("EMBEDDED") and current_app.config.get(
        "ECM_START_WORKER"
    ):
        alive = runner is not None and not runner.stopping.is_set()
        return {"ok": alive, "mode": "embedded", "count": 1 if alive else 0}
    if not queue_ok:
        return {"ok": False, "mode": "rq", "count": None, "state": QUEUE_UNAVAILABLE}
    from rq import Worker

    try:
        count = Worker.count(connection=q.connection())
    except RedisError:
        return {"ok": False, "mode": "rq", "count": None, "state": QUEUE_UNAVAILABLE}
    return {"ok": count > 0, "mode": "rq", "count": count}


def last_feed_tick() -> datetime | None:
    row = db.session.get(FeedHeartbeat, FEED_HEARTBEAT)
    return row.at if row else None


def _feed_status(database_ok: bool) -> dict[str, Any]:
    interval = current_app.config["ECM_FEED_INTERVAL"]
    if not database_ok:
        return {"ok": False, "lastTick": None, "ageSeconds": None}
    at = last_feed_tick()
    if at is None:
        return {"ok": False, "lastTick": None, "ageSeconds": None, "state": "never ran"}
    age = max(0.0, (utcnow() - at).total_seconds())
    return {
        "ok": age <= 3 * interval,
        "lastTick": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ageSeconds": round(age, 1),
        "intervalSeconds": interval,
    }


def health() -> tuple[dict[str, Any], int]:
    """What an operator or a load balancer asks first; 503 only if the DB is down."""
    database = _database_status()
    queue = _queue_status()
    workers = _worker_status(queue["ok"])
    feed = _feed_status(database["ok"])
    parts = (database, queue, workers, feed)
    status = "ok" if all(p["ok"] for p in parts) else "degraded"
    if not database["ok"]:
        status = "down"
    body = {
        "status": status,
        "database": database,
        "queue": queue,
        "workers": workers,
        "feed": feed,
        "mode": "embedded" if current_app.config.get("EMBEDDED") else "production",
    }
    return body, 200 if database["ok"] else 503


@bp.get("/healthz")
def healthz() -> Response:
    body, status = health()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def feed_lag_seconds(now: datetime | None = None) -> float:
    """Age of the oldest due pending contact of a campaign that is switched on."""
    now = now or utcnow()
    campaign_ids = db.session.scalars(
        select(Campaign.id).where(Campaign.enabled.is_(True), Campaign.status == 1)
    ).all()
    oldest: datetime | None = None
    for campaign_id in campaign_ids:  # one index probe each on ix_contacts_due
        due = db.session.scalar(
            select(func.min(Contact.dial_time)).where(
                Contact.campaign_id == campaign_id,
                Contact.request_state == PENDING,
                Contact.dial_time <= now,
            )
        )
        if due is not None and (oldest is None or due < oldest):
            oldest = due
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


class _ScrapeTimeCollector:
    """Gauges read from Redis and the database when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily(
            "ecm_up", "1 when the component answers", labels=["component"]
        )
        depth = GaugeMetricFamily("ecm_queue_depth", "Jobs waiting in the RQ queue")
        workers = GaugeMetricFamily("ecm_workers", "RQ workers registered with Redis")
        queue = _queue_status()
        up.add_metric(["queue"], 1 if queue["ok"] else 0)
        if queue["ok"]:
            depth.add_metric([], queue["depth"])
        worker_state = _worker_status(queue["ok"])
        if worker_state["count"] is not None:
            workers.add_metric([], worker_state["count"])
        database = _database_status()
        up.add_metric(["database"], 1 if database["ok"] else 0)
        yield up
        yield depth
        yield workers
        if not database["ok"]:
            return
        try:
            lag = feed_lag_seconds()
            at = last_feed_tick()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail
            log.warning("metrics: database gauges failed: %s", exc)
            db.session.rollback()
            return
        feed_lag = GaugeMetricFamily(
            "ecm_feed_lag_seconds", "Age of the oldest due pending contact"
        )
        feed_lag.add_metric([], lag)
        yield feed_lag
        if at is not None:
            tick = GaugeMetricFamily(
                "ecm_feed_last_tick_age_seconds", "Seconds since the last feed tick"
            )
            tick.add_metric([], max(0.0, (utcnow() - at).total_seconds()))
            yield tick


def _counter_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _metrics_allowed() -> bool:
    token = current_app.config.get("ECM_METRICS_TOKEN") or os.environ.get(
        "ECM_METRICS_TOKEN"
    )
    if not token:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    if not _metrics_allowed():
        response = jsonify(
            {"error": "unauthorized", "message": "Metrics token required"}
        )
        response.status_code = 401
        return response
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTimeCollector())
    payload = generate_latest(_counter_registry()) + generate_latest(scrape)
    return Response(
        payload, mimetype=None, headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@bp.before_app_request
def _start_timer() -> None:
    g.ecm_request_started = time.perf_counter()


@bp.after_app_request
def _count_request(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    metrics.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    started = g.get("ecm_request_started")
    if started is not None:
        metrics.REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


@bp.app_errorhandler(RedisError)
def _queue_down(exc: RedisError):
    """Redis gone (restart, network): answer 503 'queue unavailable', never 500."""
    log.warning("queue error: %s", exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        pass
    error = ServiceUnavailable("The queue is unavailable; try again shortly")
    from portal import wants_json

    if wants_json():
        from portal.api.core import error_response

        return error_response(error.status, error.error, error.message)
    from portal import web

    return web.service_error_page(error)


def register(app: Flask) -> None:
    """Attach /healthz, /metrics, request counting and the Redis error answer."""
    app.register_blueprint(bp)
