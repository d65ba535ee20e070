"""Receiving a file (the web request): stream it into the upload store while hashing
it, record an Upload row and queue its import.

Web adapters hand `incoming_factory` to werkzeug as the multipart stream factory
(`portal/http/multipart.py`), so a large upload is written once (PostgreSQL chunk rows,
or a file in ECM_UPLOAD_DIR: `storage`) and never held in memory. The same file twice
(same hash, same target) is refused unless forced.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Campaign, Upload, User, utcnow
from portal.services import audit, campaigns, contacts
from portal.services.enums import UploadState
from portal.services.errors import ServiceError, ServiceUnavailable, ValidationFailed
from portal.services.roles import WRITERS, require
from portal.services.uploads import storage
from portal.services.uploads.jobs import enqueue_import, job_id_for

log = logging.getLogger(__name__)

KINDS = ("contacts", "dnc")
COPY_BLOCK = 1 << 20


class PayloadTooLarge(ServiceError):
    """The upload is over ECM_MAX_UPLOAD_MB (413 in the API's error shape)."""

    status = 413
    error = "payload_too_large"


def max_upload_bytes() -> int:
    """The configured limit: MAX_CONTENT_LENGTH, else ECM_MAX_UPLOAD_MB."""
    config = current_app.config
    limit = config.get("MAX_CONTENT_LENGTH")
    if limit:
        return int(limit)
    return int(config.get("ECM_MAX_UPLOAD_MB", 512)) * 1024 * 1024


def too_large_message() -> str:
    megabytes = max_upload_bytes() / (1024 * 1024)
    return f"The file is larger than the upload limit of {megabytes:g} MB"


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _policy(value: Any) -> str:
    text_value = ("" if value is None else str(value).strip().lower()) or "allow"
    if text_value not in ("allow", "deny"):
        raise ValidationFailed({"duplicateCallbacks": "must be allow or deny"})
    return text_value


def _safe_name(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return (name or "upload.csv")[:255]


IncomingFile = storage.IncomingFile


def incoming_factory(limit: int) -> Callable[..., IncomingFile]:
    """A werkzeug `stream_factory` writing each file part into the upload store."""
    return storage.factory(limit, _too_large)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(too_large_message())


def _receive(stream: BinaryIO | IncomingFile) -> IncomingFile:
    """The upload as a stored file: already one, or copied in 1 MB blocks."""
    if isinstance(stream, IncomingFile):
        stream.finish()
        return stream
    incoming = storage.receiver(max_upload_bytes(), _too_large)
    try:
        while block := stream.read(COPY_BLOCK):
            incoming.write(block)
    except BaseException:
        incoming.discard()
        raise
    incoming.finish()
    return incoming


def _looks_binary(head: bytes) -> bool:
    """NUL bytes never occur in a CSV text file (UTF-16, xlsx and images have them)."""
    return b"\x00" in head


def require_uploader(actor: User) -> None:
    """Refuse a role that may not upload before a single byte of the body is stored."""
    require(actor, WRITERS)


def store_upload(
    actor: User,
    kind: str,
    stream: BinaryIO | IncomingFile | None,
    filename: str | None,
    campaign_id: Any = None,
    duplicate_policy: Any = None,
    force: Any = False,
    duplicate_scope: Any = None,
) -> Upload:
    """Save an uploaded CSV and queue its import; refuses the same file twice."""
    require(actor, WRITERS)
    campaign = _target(actor, kind, campaign_id)
    policy = _policy(duplicate_policy) if kind == "contacts" else "allow"
    try:
        scope = contacts.check_duplicate_scope(duplicate_scope)
    except ValueError as exc:
        raise ValidationFailed({"duplicateScope": str(exc)}) from None
    forced = _flag(force)
    if stream is None:
        raise ValidationFailed({"file": "is required (multipart field 'file')"})
    incoming = _receive(stream)
    try:
        _check_file(incoming, kind, campaign, forced)
        upload = _record(
            actor, kind, campaign, incoming, filename, policy, forced, scope
        )
    except BaseException:
        db.session.rollback()
        incoming.discard()
        raise
    _queue(upload)
    return upload


def _target(actor: User, kind: str, campaign_id: Any) -> Campaign | None:
    """The campaign a contacts upload goes to (None for the DNC list)."""
    if kind not in KINDS:
        raise ValidationFailed({"kind": "must be contacts or dnc"})
    if kind != "contacts":
        return None
    if campaign_id in (None, ""):
        raise ValidationFailed({"campaignId": "is required"})
    return campaigns.get_campaign(actor, campaign_id, "campaignId")


def _check_file(
    incoming: IncomingFile, kind: str, campaign: Campaign | None, forced: bool
) -> None:
    """Refuse an empty file, a binary one, and (unless forced) one sent before."""
    if incoming.size == 0:
        raise ValidationFailed({"file": "is empty"}, "Empty file")
    if _looks_binary(incoming.head):
        raise ValidationFailed(
            {
                "file": "is not a CSV text file (binary, or UTF-16): "
                "save it as CSV UTF-8"
            },
            "Not a CSV file",
        )
    if not forced:
        _refuse_same_file(kind, campaign, incoming.digest())


def _record(
    actor: User,
    kind: str,
    campaign: Campaign | None,
    incoming: IncomingFile,
    filename: str | None,
    policy: str,
    forced: bool,
    scope: str = "campaign",
) -> Upload:
    """The queued Upload row for the received file, audited and committed."""
    upload = Upload(
        kind=kind,
        campaign_id=campaign.id if campaign else None,
        filename=_safe_name(filename),
        stored_path=incoming.ref,
        size_bytes=incoming.size,
        content_hash=incoming.digest(),
        duplicate_policy=policy,
        duplicate_scope=scope,
        state=UploadState.QUEUED,
        forced=forced,
        created_by=actor.id,
    )
    db.session.add(upload)
    db.session.flush()
    upload.job_id = job_id_for(upload.id)
    incoming.keep(upload.id)  # the file belongs to the row in the same commit
    audit.record(
        actor,
        "upload",
        "upload",
        upload.id,
        {
            "kind": kind,
            "campaignId": upload.campaign_id,
            "file": upload.filename,
            "bytes": incoming.size,
            "duplicateCallbacks": policy,
            "duplicateScope": scope,
            "force": forced,
        },
    )
    db.session.commit()
    return upload


def _queue(upload: Upload) -> None:
    """Queue the import; without a queue the upload is marked failed (503)."""
    try:
        enqueue_import(upload)
    except Exception as exc:  # noqa: BLE001 - any queue failure means "not queued"
        log.warning("could not queue upload %s: %s", upload.id, exc)
        upload.state = UploadState.FAILED
        upload.error_message = "The job queue is unavailable; upload the file again"
        upload.finished_at = utcnow()
        db.session.commit()
        raise ServiceUnavailable(
            "The job queue is unavailable; try again shortly"
        ) from None


def _refuse_same_file(kind: str, campaign: Campaign | None, digest: str) -> None:
    query = select(Upload).where(
        Upload.kind == kind,
        Upload.content_hash == digest,
        Upload.state != UploadState.FAILED,
    )
    if campaign is not None:
        query = query.where(Upload.campaign_id == campaign.id)
    earlier = db.session.scalar(query.order_by(Upload.id).limit(1))
    if earlier is None:
        return
    target = f"campaign {campaign.id}" if campaign else "the DNC list"
    when = earlier.created_at.strftime("%Y-%m-%d %H:%M UTC")
    raise ValidationFailed(
        {
            "file": f"this file was already uploaded to {target} as upload "
            f"{earlier.id} on {when}; send force=true to import it again"
        },
        "Duplicate file",
    )
