"""Periodic enqueues with deterministic job ids, safe to run from several schedulers."""

from __future__ import annotations

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from portal import queue as q

ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def enqueue_once(func: str, job_id: str, *args, **options):
    """Enqueue func under job_id unless that job is still queued or running."""
    conn = q.connection()
    try:
        job = Job.fetch(job_id, connection=conn)
        if job.get_status(refresh=True) in ACTIVE:
            return None
        job.delete()
    except NoSuchJobError:
        pass
    return q.queue().enqueue(
        func, *args, job_id=job_id, result_ttl=60, failure_ttl=3600, **options
    )
