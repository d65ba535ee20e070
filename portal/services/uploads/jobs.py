"""The import job: queueing it under its deterministic id, and resuming stalled ones.

A committed chunk is the checkpoint: a run that starts again (RQ retry,
`flask uploads-resume`, a second worker) skips the rows already counted, so a killed
worker loses and duplicates nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from portal import queue as q
from portal.extensions import db
from portal.models import Upload, User, utcnow
from portal.services import audit
from portal.services.enums import UploadState
from portal.services.errors import ServiceUnavailable, ValidationFailed
from portal.services.roles import WRITERS, require
from portal.services.uploads.status import ACTIVE_STATES, get_upload

JOB_FUNCTION = "worker.jobs.import_upload"
DEFAULT_JOB_TIMEOUT = 4 * 3600
STALE_SECONDS = 120
WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def job_id_for(upload_id: int) -> str:
    return f"import-{upload_id}"


def job_timeout() -> int:
    return int(current_app.config.get("ECM_IMPORT_JOB_TIMEOUT") or DEFAULT_JOB_TIMEOUT)


def enqueue_import(upload: Upload):
    """Queue (or queue again) the import job under its deterministic id."""
    job_id = job_id_for(upload.id)
    conn = q.connection()
    try:
        Job.fetch(job_id, connection=conn).delete()
    except NoSuchJobError:
        pass
    return q.queue().enqueue(
        JOB_FUNCTION,
        upload.id,
        job_id=job_id,
        job_timeout=job_timeout(),
        retry=Retry(max=3),
        result_ttl=86_400,
        failure_ttl=7 * 86_400,
        description=f"import upload {upload.id} ({upload.kind})",
    )


def job_state(upload: Upload) -> tuple[str, datetime | None]:
    """The RQ status of the upload's job and when it last showed life ("missing")."""
    try:
        job = Job.fetch(job_id_for(upload.id), connection=q.connection())
    except NoSuchJobError:
        return "missing", None
    status = job.get_status(refresh=False)
    beats = [_naive_utc(t) for t in (job.last_heartbeat, job.started_at) if t]
    progress_at = (job.meta or {}).get("progress", {}).get("at")
    if progress_at:
        beats.append(datetime.fromtimestamp(progress_at, UTC).replace(tzinfo=None))
    return str(getattr(status, "value", status) or "missing"), max(beats, default=None)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def is_stale(upload: Upload, older_than: int = STALE_SECONDS) -> bool:
    """Queued or running in the database, but no live job is working on it.

    A started job counts as alive while its worker heartbeat or its last committed
    chunk is younger than `older_than` seconds (SIGKILL stops both).
    """
    if upload.state not in ACTIVE_STATES:
        return False
    now = utcnow()
    if (
        upload.state == UploadState.QUEUED
        and (now - upload.created_at).total_seconds() < older_than
    ):
        return False  # just uploaded: its job is being queued right now
    status, beat = job_state(upload)
    if status in WAITING:
        return False
    if status == JobStatus.STARTED:
        return beat is None or (now - beat).total_seconds() >= older_than
    return True


def resume_stale(older_than: int = STALE_SECONDS) -> list[int]:
    """Queue again every upload whose worker died (SIGKILL, restart); their ids."""
    resumed = []
    for upload in db.session.scalars(
        select(Upload).where(Upload.state.in_(ACTIVE_STATES)).order_by(Upload.id)
    ):
        if is_stale(upload, older_than):
            enqueue_import(upload)
            resumed.append(upload.id)
    if resumed:
        audit.record(None, "resume", "upload", None, {"uploads": resumed})
        db.session.commit()
    # the same periodic pass keeps the store tidy: retention, abandoned requests
    from portal.services.uploads import storage

    storage.purge_expired()
    return resumed


def resume_upload(actor: User, upload_id: Any) -> Upload:
    """Queue a stalled or failed upload again; it continues from its last checkpoint."""
    require(actor, WRITERS)
    upload = get_upload(actor, upload_id)
    if upload.state == UploadState.DONE:
        raise ValidationFailed({"id": "this upload is already complete"})
    if upload.state in ACTIVE_STATES and not is_stale(upload):
        raise ValidationFailed({"id": "this upload is still being imported"})
    upload.state = UploadState.QUEUED
    upload.error_message = None
    upload.finished_at = None
    audit.record(actor, "resume", "upload", upload.id)
    db.session.commit()
    try:
        enqueue_import(upload)
    except Exception:  # noqa: BLE001 - any queue failure means "not queued"
        raise ServiceUnavailable(
            "The job queue is unavailable; try again shortly"
        ) from None
    return upload
