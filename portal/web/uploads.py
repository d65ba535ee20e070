"""Bulk CSV uploads in the portal: the form, a live progress bar, the rejected rows."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from portal.extensions import csrf
from portal.http.multipart import receive_files
from portal.models import Campaign, Upload
from portal.services import campaigns, uploads
from portal.services.enums import UploadState
from portal.web.htmx import expect_form, fragment, is_htmx_fragment, render
from portal.web.session import actor

bp = Blueprint("uploads", __name__)

STATE_NAMES = {
    UploadState.QUEUED: "Queued",
    UploadState.RUNNING: "Importing",
    UploadState.DONE: "Done",
    UploadState.FAILED: "Failed",
}
KIND_NAMES = {"contacts": "Contacts", "dnc": "DNC numbers"}


def recent_uploads(kind: str | None, campaign: Campaign | None = None, limit: int = 5):
    """The panel's list: this campaign's (or the DNC list's) latest uploads."""
    if not current_user.is_authenticated:
        return []
    campaign_id = campaign.id if campaign is not None else None
    return uploads.list_uploads(actor(), kind or None, campaign_id, limit)


@bp.app_context_processor
def _upload_helpers() -> dict[str, Any]:
    return {
        "recent_uploads": recent_uploads,
        "upload_percent": uploads.percent,
        "UPLOAD_STATES": STATE_NAMES,
        "UPLOAD_KINDS": KIND_NAMES,
    }


def _progress_context(upload: Upload) -> dict[str, Any]:
    active = uploads.is_active(upload)
    return {
        "u": upload,
        "active": active,
        "stale": active and uploads.is_stale(upload),
    }


def _check_csrf(form) -> None:
    """Check the CSRF token here: the view is exempt from the global check so that the
    file streams to disk. HTMX sends it in a header (checked before the body is read),
    plain forms in a field."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    token = request.headers.get("X-CSRFToken") or (form or {}).get("csrf_token")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None


@bp.route("/uploads", methods=["POST"])
@csrf.exempt
@login_required
def create():
    uploads.require_uploader(actor())  # before the body is read or stored
    if request.headers.get("X-CSRFToken"):
        _check_csrf(None)
        form, files = receive_files(request)
    else:
        form, files = receive_files(request)
        _check_csrf(form)
    kind = form.get("kind") if form.get("kind") in uploads.KINDS else "contacts"
    campaign_id = form.get("campaignId") or None
    campaign = None
    if kind == "contacts" and campaign_id:
        campaign = campaigns.get_campaign(actor(), campaign_id, "campaignId")
    expect_form(
        "uploads/new.html",
        "uploads/_upload_error.html",
        upload_kind=kind,
        campaign=campaign,
        values=form.to_dict(),
    )
    storage = files.get("file")
    upload = uploads.store_upload(
        actor(),
        kind,
        storage.stream if storage is not None and storage.filename else None,
        storage.filename if storage is not None else None,
        campaign_id=campaign_id,
        duplicate_policy=form.get("duplicateCallbacks"),
        force=form.get("force"),
        duplicate_scope=form.get("duplicateScope"),
    )
    message = f"{upload.filename} is uploaded; the import has started."
    if is_htmx_fragment():
        return fragment(
            "uploads/_progress_panel.html",
            message,
            campaign=campaign,
            in_panel=True,
            refresh_list=True,
            **_progress_context(upload),
        )
    flash(message, "success")
    return redirect(url_for("uploads.show", upload_id=upload.id))


@bp.route("/uploads")
@login_required
def index():
    kind = request.args.get("kind")
    kind = kind if kind in uploads.KINDS else None
    items = uploads.list_uploads(actor(), kind, None, 50)
    return render_template("uploads/index.html", uploads=items, kind=kind)


@bp.route("/uploads/<int:upload_id>")
@login_required
def show(upload_id: int):
    """The upload's page, or (for HTMX polls) just its progress partial."""
    upload = uploads.get_upload(actor(), upload_id)
    campaign = None
    if upload.campaign_id is not None:
        campaign = campaigns.get_campaign(actor(), upload.campaign_id)
    context = _progress_context(upload)
    in_panel = request.args.get("panel") == "1"
    return render(
        "uploads/show.html",
        "uploads/_progress_panel.html",
        campaign=campaign,
        in_panel=in_panel,
        # a poll that sees the import end also refreshes the panel's list
        refresh_list=in_panel and not context["active"],
        **context,
    )


@bp.route("/uploads/<int:upload_id>/errors.csv")
@login_required
def errors_csv(upload_id: int) -> Response:
    upload = uploads.get_upload(actor(), upload_id)
    lines = uploads.error_report(actor(), upload)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    name = uploads.report_filename(upload)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/uploads/<int:upload_id>/resume", methods=["POST"])
@login_required
def resume(upload_id: int):
    upload = uploads.get_upload(actor(), upload_id)
    expect_form(
        "uploads/show.html", "uploads/_progress.html", **_progress_context(upload)
    )
    upload = uploads.resume_upload(actor(), upload_id)
    message = f"Upload {upload.id} is queued again; it continues where it stopped."
    if is_htmx_fragment():
        return fragment("uploads/_progress.html", message, **_progress_context(upload))
    flash(message, "success")
    return redirect(url_for("uploads.show", upload_id=upload.id))
