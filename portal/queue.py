"""Access to the RQ queue: real Redis in production, in-process fakeredis when embedded."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUE_NAME = "ecm"


def connection(app: Flask | None = None) -> Redis:
    """One Redis connection per app: REDIS_URL, or a private fakeredis server."""
    app = app or current_app._get_current_object()
    conn = app.extensions.get("ecm_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if url:
            conn = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        else:
            import fakeredis

            conn = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        app.extensions["ecm_redis"] = conn
    return conn


def queue(app: Flask | None = None) -> Queue:
    return Queue(QUEUE_NAME, connection=connection(app), default_timeout=3600)


def enqueue(func: str, *args: Any, job_id: str | None = None, **options: Any):
    """Enqueue a job by dotted path; ids in, never objects."""
    return queue().enqueue(func, *args, job_id=job_id, **options)


def queue_available(app: Flask | None = None) -> bool:
    try:
        return bool(connection(app).ping())
    except Exception:  # noqa: BLE001 - any Redis failure means "not available"
        return False
