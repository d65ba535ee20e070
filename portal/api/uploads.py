"""/umm/ecm bulk uploads: contacts to a campaign, numbers to the DNC list, status."""

from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from portal.api import serializers
from portal.api.core import actor, endpoint
from portal.http.multipart import receive_files
from portal.services import uploads
from portal.services.enums import UploadState
from portal.services.validation import as_int

ACCEPTED = {
    "type": "object",
    "required": ["message", "uploadId"],
    "properties": {"message": {"type": "string"}, "uploadId": {"type": "integer"}},
}
STATUS = {
    "type": "object",
    "required": [
        "uploadId",
        "state",
        "rowsRead",
        "accepted",
        "rejected",
        "dncFlagged",
        "duplicates",
        "percent",
    ],
    "properties": {
        "uploadId": {"type": "integer"},
        "kind": {"type": "string", "enum": list(uploads.KINDS)},
        "campaignId": {"type": ["integer", "null"]},
        "state": {"type": "string", "enum": [s.value for s in UploadState]},
        "rowsTotal": {"type": ["integer", "null"]},
        "rowsRead": {"type": "integer"},
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "dncFlagged": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
    },
}
FORM = "multipart/form-data"
# a CSV text file sent as a file part (format binary), not empty; NUL bytes mark a
# binary file (xlsx, UTF-16, images), refused
FILE = {
    "type": "string",
    "format": "binary",
    "minLength": 1,
    "pattern": "^[^\\u0000]*$",
    "contentMediaType": "text/csv",
}
FLAG = {"type": "string"}  # 1/true/yes/on force; anything else does not
DNC_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": FILE, "force": FLAG},
}
CONTACTS_FORM = {
    "type": "object",
    "required": ["file", "campaignId"],
    "properties": {
        "file": FILE,
        "campaignId": {"type": "integer", "minimum": 1},
        "duplicateCallbacks": {
            "type": "string",
            "pattern": r"^\s*([Aa][Ll][Ll][Oo][Ww]|[Dd][Ee][Nn][Yy])?\s*$",
        },
        "force": FLAG,
    },
}


def _received(kind: str, campaign_field: bool) -> Response:
    """Stream the multipart file to the upload folder and answer at once."""
    uploads.require_uploader(actor())  # before the body is read or stored
    form, files = receive_files(request)
    storage = files.get("file")
    values = {**request.args.to_dict(), **form.to_dict()}
    upload = uploads.store_upload(
        actor(),
        kind,
        storage.stream if storage is not None else None,
        storage.filename if storage is not None else None,
        campaign_id=values.get("campaignId") if campaign_field else None,
        duplicate_policy=values.get("duplicateCallbacks"),
        force=values.get("force"),
        duplicate_scope=values.get("duplicateScope"),
    )
    return jsonify({"message": "File is uploaded", "uploadId": upload.id})


@endpoint(
    "/ecm/callback/uploadBulkCaller",
    ["POST"],
    "Bulk upload contacts to a campaign (multipart: file, campaignId, "
    "duplicateCallbacks allow|deny, duplicateScope campaign|all, force); the import "
    "runs in a worker",
    "callback",
    response=ACCEPTED,
    content=FORM,
    form=CONTACTS_FORM,
)
def upload_bulk_caller():
    return _received("contacts", campaign_field=True)


@endpoint(
    "/ecm/contact/uploadCsv",
    ["POST"],
    "Bulk upload numbers to the DNC list (multipart: file of number,optional-name)",
    "dnc",
    response=ACCEPTED,
    content=FORM,
    form=DNC_FORM,
)
def upload_dnc_csv():
    return _received("dnc", campaign_field=False)


@endpoint(
    "/ecm/upload",
    ["GET"],
    "Recent uploads, newest first (?kind=contacts|dnc&campaignId=N&max=N)",
    "upload",
    response={"type": "array", "items": STATUS},
    params=[
        {
            "name": "kind",
            "in": "query",
            "schema": {"type": "string", "enum": ["", *uploads.KINDS]},
        },
        {"name": "campaignId", "in": "query", "schema": {"type": "integer"}},
        {
            "name": "max",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    ],
)
def list_uploads():
    args = request.args
    campaign_id = args.get("campaignId")
    items = uploads.list_uploads(
        actor(),
        kind=args.get("kind") or None,
        campaign_id=as_int(campaign_id, "campaignId") if campaign_id else None,
        limit=as_int(args.get("max", 20), "max"),
    )
    return jsonify([serializers.upload(u) for u in items])


@endpoint(
    "/ecm/upload/<int:upload_id>",
    ["GET"],
    "Upload status: state, counts and percent done",
    "upload",
    response=STATUS,
)
def upload_status(upload_id: int):
    return jsonify(serializers.upload(uploads.get_upload(actor(), upload_id)))


@endpoint(
    "/ecm/upload/<int:upload_id>/errors.csv",
    ["GET"],
    "An upload's rejected and duplicate rows with line number and reason (CSV)",
    "upload",
    produces="text/csv",
)
def upload_errors(upload_id: int) -> Response:
    upload = uploads.get_upload(actor(), upload_id)
    lines = uploads.error_report(actor(), upload)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    name = uploads.report_filename(upload)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
