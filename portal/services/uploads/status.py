"""Reading uploads back: one upload, the recent ones, progress, the error report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import Upload, UploadError, User
from portal.services.enums import UploadState
from portal.services.errors import NotFound, ValidationFailed
from portal.services.exports import csv_lines
from portal.services.roles import READERS, require
from portal.services.validation import as_int

ACTIVE_STATES = (UploadState.QUEUED, UploadState.RUNNING)


def get_upload(actor: User, upload_id: Any) -> Upload:
    require(actor, READERS)
    uid = as_int(upload_id, "id")
    upload = db.session.get(Upload, uid)
    if upload is None:
        raise NotFound(f"Upload with id {uid} not found")
    return upload


MAX_LISTED = 100


def list_uploads(
    actor: User,
    kind: str | None = None,
    campaign_id: int | None = None,
    limit: int = 10,
) -> list[Upload]:
    """The most recent uploads, newest first, of one kind and campaign if given."""
    require(actor, READERS)
    from portal.services.uploads.receive import KINDS  # receive imports this module

    if kind and kind not in KINDS:
        raise ValidationFailed({"kind": f"must be one of {', '.join(KINDS)}"})
    if not 1 <= limit <= MAX_LISTED:
        raise ValidationFailed({"max": f"must be between 1 and {MAX_LISTED}"})
    query = select(Upload).order_by(Upload.id.desc()).limit(limit)
    if kind:
        query = query.where(Upload.kind == kind)
    if campaign_id is not None:
        query = query.where(Upload.campaign_id == campaign_id)
    return list(db.session.scalars(query))


def percent_done(bytes_done: int, size_bytes: int | None) -> int:
    """Progress by bytes read (exact even while the row total is an estimate); 100
    only once the upload is done, so a running import shows at most 99."""
    if not size_bytes:
        return 0
    return min(99, int(bytes_done * 100 / size_bytes))


def percent(upload: Upload) -> int:
    """An upload's progress as the status page and the API show it."""
    if upload.state == UploadState.DONE:
        return 100
    return percent_done(upload.bytes_done, upload.size_bytes)


def is_active(upload: Upload) -> bool:
    return upload.state in ACTIVE_STATES


ERROR_REPORT_HEADER = ["line", "reason", "row"]


def error_report(actor: User, upload: Upload) -> Iterator[str]:
    """The rejected and duplicate rows as CSV lines, streamed, cells formula-safe."""
    require(actor, READERS)
    upload_id = upload.id

    def rows() -> Iterator[tuple[int, str, str | None]]:
        last = 0
        while True:
            page = db.session.execute(
                select(UploadError.line_number, UploadError.reason, UploadError.raw)
                .where(
                    UploadError.upload_id == upload_id, UploadError.line_number > last
                )
                .order_by(UploadError.line_number)
                .limit(5_000)
            ).all()
            if not page:
                return
            yield from page
            last = page[-1][0]

    return csv_lines(ERROR_REPORT_HEADER, rows())


def report_filename(upload: Upload) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.filename).stem)[:80] or "upload"
    return f"upload-{upload.id}-{stem}-rejected.csv"
