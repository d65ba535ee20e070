"""/healthz and /metrics (with the request counts and timings /metrics reports)."""

from __future__ import annotations

import hmac
import logging
import time
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
from sqlalchemy import select, text

from portal import metrics
from portal import queue as q
from portal.extensions import db
from portal.models import Campaign, utcnow
from portal.services import stats

log = logging.getLogger(__name__)
bp = Blueprint("observability", __name__)
QUEUE_UNAVAILABLE = "queue unavailable"
HIDDEN_METRICS = frozenset({"python_info"})
# The method label takes only these; any other verb a client invents counts as
# "other", so unknown methods cannot grow /metrics one series at a time.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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


def _dependants(database_ok: bool) -> tuple[dict, dict, dict]:
    """Queue, workers and feed as the dashboard sees them (stats.worker_health)."""
    interval = current_app.config["ECM_FEED_INTERVAL"]
    if not database_ok:
        queue = _queue_status()
        return queue, {"ok": False, "count": None}, {"ok": False, "lastTick": None}
    h = stats.worker_health()
    if h["queue"] is None:
        queue = {"ok": False, "state": QUEUE_UNAVAILABLE}
    else:
        queue = {"ok": True, "state": "available", "depth": h["queue"]}
    backlog = h["backlog"] or {}
    count = len(h["workers"]) + (1 if h["embedded"] else 0)
    workers = {
        "ok": count > 0 and not backlog.get("stalled"),
        "count": count if h["queue"] is not None or h["embedded"] else None,
        "embedded": h["embedded"] is not None,
        "stalled": bool(backlog.get("stalled")),
        "message": backlog.get("message"),
        "lastJobTakenSecondsAgo": backlog.get("lastTakenAgoSeconds"),
    }
    if queue["ok"]:
        queue["oldestWaitSeconds"] = backlog.get("oldestWaitSeconds", 0)
    tick = h["lastTick"]
    feed: dict[str, Any] = {"ok": False, "lastTick": None, "intervalSeconds": interval}
    if tick is None:
        feed["state"] = "never ran"
    else:
        feed.update(
            ok=not tick["late"], lastTick=tick["at"], ageSeconds=tick["ageSeconds"]
        )
    return queue, workers, feed


def health() -> tuple[dict[str, Any], int]:
    """What an operator or a load balancer asks first: 503 when the database is down
    or when queued jobs wait and no worker takes them."""
    database = _database_status()
    queue, workers, feed = _dependants(database["ok"])
    parts = (database, queue, workers, feed)
    status = "ok" if all(p["ok"] for p in parts) else "degraded"
    if workers.get("stalled"):
        status = "unhealthy"  # work is queued and nothing takes it
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
    return body, 200 if status in ("ok", "degraded") else 503


@bp.get("/healthz")
def healthz() -> Response:
    body, status = health()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


class _ScrapeTimeCollector:
    """Gauges read from Redis and the database when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily(
            "ecm_up", "1 when the component answers", labels=["component"]
        )
        depth = GaugeMetricFamily("ecm_queue_depth", "Jobs waiting in the RQ queue")
        workers = GaugeMetricFamily(
            "ecm_workers", "Workers alive (RQ workers, or the embedded worker)"
        )
        database = _database_status()
        queue, worker_state, feed = _dependants(database["ok"])
        up.add_metric(["database"], 1 if database["ok"] else 0)
        up.add_metric(["queue"], 1 if queue["ok"] else 0)
        if queue["ok"]:
            depth.add_metric([], queue["depth"])
        if worker_state["count"] is not None:
            workers.add_metric([], worker_state["count"])
        yield up
        yield depth
        yield workers
        if not database["ok"]:
            return
        if feed.get("ageSeconds") is not None:
            tick = GaugeMetricFamily(
                "ecm_feed_last_tick_age_seconds", "Seconds since the last feed tick"
            )
            tick.add_metric([], feed["ageSeconds"])
            yield tick
        try:
            lag = stats.feed_lag_seconds()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail
            log.warning("metrics: feed lag failed: %s", exc)
            db.session.rollback()
            return
        feed_lag = GaugeMetricFamily(
            "ecm_feed_lag_seconds",
            "How long the oldest due contact of a dialable campaign has waited",
        )
        feed_lag.add_metric([], lag)
        yield feed_lag
        yield from _abandon_gauges()


def _abandon_gauges():
    """Each campaign's rolling abandon rates (percent of live answers)."""
    from portal.services import abandon

    try:
        ids = list(db.session.scalars(select(Campaign.id)))
        figures = abandon.rates(ids, utcnow())
    except Exception as exc:  # noqa: BLE001 - a scrape must not fail
        log.warning("metrics: abandon rates failed: %s", exc)
        db.session.rollback()
        return
    gauge = GaugeMetricFamily(
        "ecm_abandon_rate_percent",
        "Abandoned calls over live answers, per campaign and window (24h, 30d)",
        labels=["campaign", "window"],
    )
    for cid, windows in figures.items():
        for name, window in windows.items():
            gauge.add_metric([str(cid), name], window["rate"])
    yield gauge


def _counter_registry() -> CollectorRegistry:
    if current_app.config.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return _WithoutPlatform()


class _WithoutPlatform:
    """The default registry minus `python_info`, which tells a visitor the exact
    Python version (and so which CVEs to try)."""

    def collect(self):
        for family in REGISTRY.collect():
            if family.name not in HIDDEN_METRICS:
                yield family


def _metrics_allowed() -> bool:
    token = current_app.config.get("ECM_METRICS_TOKEN")
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
    method = request.method if request.method in KNOWN_METHODS else "other"
    metrics.REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    started = g.get("ecm_request_started")
    if started is not None:
        metrics.REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


def register(app: Flask) -> None:
    """Attach /healthz, /metrics and the request counting."""
    app.register_blueprint(bp)
