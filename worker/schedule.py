"""Periodic enqueues with deterministic job ids, safe to run from several schedulers."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from portal.queue import queue_on

ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# RQ's worker heartbeats a running job every 30 s (job_monitoring_interval): a
# "started" job silent for three of those is held by a worker that is gone
STALE_STARTED_SECONDS = 90
PERIOD_KEY = "ecm:period:{job_id}:{period}"


def claim_period(conn: Redis, job_id: str, seconds: float) -> bool:
    """True for the first scheduler to ask in this period of `seconds` (SET NX), so
    two schedulers on two hosts enqueue a periodic job once per period."""
    seconds = max(float(seconds), 1.0)
    period = int(time.time() // seconds)
    key = PERIOD_KEY.format(job_id=job_id, period=period)
    return bool(conn.set(key, b"1", nx=True, ex=max(int(seconds * 3), 2)))


def enqueue_once(conn: Redis, func: str, job_id: str, seconds: float, *args, **opts):
    """Enqueue func as job_id once per period, unless still queued or running."""
    if not claim_period(conn, job_id, seconds):
        return None
    try:
        job = Job.fetch(job_id, connection=conn)
        if _still_running(job):
            return None
        job.delete()
    except NoSuchJobError:
        pass
    return queue_on(conn).enqueue(
        func, *args, job_id=job_id, result_ttl=60, failure_ttl=3600, **opts
    )


def _still_running(job: Job) -> bool:
    """Queued or running, unless "started" by a worker that stopped beating: RQ only
    fails such a job in its maintenance pass (up to 10 minutes later), and a periodic
    job held by a lost host must not stop the feed that long."""
    status = job.get_status(refresh=True)
    if status != JobStatus.STARTED:
        return status in ACTIVE
    beat = job.last_heartbeat or job.started_at
    if beat is None:
        return True
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds() < STALE_STARTED_SECONDS
