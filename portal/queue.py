"""Access to the RQ queue: real Redis in production, in-process fakeredis when embedded.

The connection is made once, by `init_app`, while the app is being built and before
any thread can start: the embedded worker, its timer and every request then share the
same (fake) Redis server. Making it lazily on first use raced when two threads asked
at once, and the worker listened on one in-memory server while jobs went to another.
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

import fakeredis
from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUE_NAME = "ecm"
EXTENSION = "ecm_redis"


def init_app(app: Flask) -> None:
    """Create the app's one Redis connection: REDIS_URL, else a private fakeredis."""
    url = app.config.get("REDIS_URL")
    if url:
        conn = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
    else:
        conn = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    app.extensions[EXTENSION] = conn


def connection(app: Flask | None = None) -> Redis:
    """The connection `init_app` made for this app (never a new one)."""
    app = app or current_app._get_current_object()
    return app.extensions[EXTENSION]


def queue(app: Flask | None = None) -> Queue:
    return queue_on(connection(app))


def queue_on(conn: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=conn, default_timeout=3600)


def queue_available(app: Flask | None = None) -> bool:
    try:
        return bool(connection(app).ping())
    except Exception:  # noqa: BLE001 - any Redis failure means "not available"
        return False


WORK_TAKEN_KEY = "ecm:work-taken"


def record_work_taken(conn: Redis, worker: str, job_id: str) -> None:
    """A worker's proof of life: the moment it last took a job off this queue."""
    conn.hset(
        WORK_TAKEN_KEY, mapping={"at": time.time(), "worker": worker, "job": job_id}
    )


def backlog(app: Flask | None = None, stall_after: float = 30.0) -> dict[str, Any]:
    """Queue depth, how long the oldest job has waited, and whether anything takes work.

    Stalled means jobs wait, the oldest longer than `stall_after` seconds, and no
    worker has taken a job since it was queued: measured by work done, not by a
    worker thread or process merely existing.
    """
    conn = connection(app)
    rq_queue = queue_on(conn)
    depth = rq_queue.count
    taken = conn.hgetall(WORK_TAKEN_KEY)
    taken_at = float(taken[b"at"]) if b"at" in taken else None
    oldest = None
    if depth:
        job_ids = rq_queue.get_job_ids(0, 1)
        job = rq_queue.fetch_job(job_ids[0]) if job_ids else None
        if job is not None and job.enqueued_at is not None:
            at = job.enqueued_at
            oldest = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    now = time.time()
    waited = max(0.0, now - oldest) if oldest is not None else 0.0
    stalled = bool(
        depth and waited > stall_after and (taken_at is None or taken_at < oldest)
    )
    return {
        "depth": depth,
        "oldestWaitSeconds": round(waited),
        "lastTakenAt": taken_at,
        "lastTakenAgoSeconds": None if taken_at is None else round(now - taken_at),
        "stalled": stalled,
        "message": _stall_message(depth, waited) if stalled else None,
    }


def _stall_message(depth: int, waited: float) -> str:
    jobs = "1 job has" if depth == 1 else f"{depth} jobs have"
    return f"{jobs} waited {round(waited)} s and no worker is taking them"
