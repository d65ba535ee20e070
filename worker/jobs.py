"""Background jobs (RQ): bulk imports and the dialing feed loop.

A job takes ids, calls one service and returns a small dict. It runs inside the app
context its worker gives it (`worker.workers`), so it never builds an app of its own.
"""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

from portal.services import stats, uploads
from portal.services.feed import run_tick

# (config key holding the period in seconds, job function, deterministic job id):
# the embedded runner and `flask scheduler` enqueue these.
PERIODIC_JOBS = [
    ("ECM_FEED_INTERVAL", "worker.jobs.feed_tick", "feed-tick"),
    ("ECM_FEED_INTERVAL", "worker.jobs.refresh_stats", "stats-refresh"),
    # cheap (one query on uploads); after a restart it restarts interrupted imports
    ("ECM_FEED_INTERVAL", "worker.jobs.resume_stale_uploads", "uploads-resume"),
]


def feed_tick() -> dict[str, Any]:
    """Run one feed tick; safe to run twice or on several workers at once."""
    counts = run_tick().as_dict()
    return counts | {"errors": len(counts["errors"])}


def import_upload(upload_id: int) -> dict[str, Any]:
    """Import one bulk CSV upload; a second run resumes from its last checkpoint."""
    job = get_current_job()
    return uploads.run_import(
        upload_id,
        progress=_mirror_progress(job),
        final_attempt=job is None or not job.retries_left,
    )


def _mirror_progress(job):
    """Copy checkpoint counters into job.meta; the Upload row stays the truth."""
    if job is None:
        return None

    def report(values: dict[str, Any]) -> None:
        job.meta["progress"] = {**values, "at": time.time()}
        job.save_meta()

    return report


def resume_stale_uploads() -> dict[str, Any]:
    """Queue again the imports whose worker died (their job is gone or silent)."""
    return {"resumed": uploads.resume_stale()}


def refresh_stats() -> dict[str, Any]:
    """Recount every campaign's contacts for the dashboard's snapshots."""
    return {"campaigns": stats.refresh()}
