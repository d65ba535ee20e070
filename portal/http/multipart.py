"""Multipart uploads written straight into ECM_UPLOAD_DIR (the API and the portal).

werkzeug normally spools each file part to a temporary file that the import would then
copy again; here every file part is an `uploads.IncomingFile` (PostgreSQL chunk rows,
or a file in ECM_UPLOAD_DIR), hashed while it is written, so a 100 MB upload costs one
pass over the bytes and no memory.
"""

from __future__ import annotations

from flask import Flask, Request, g
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from portal.services import uploads


def receive_files(request: Request) -> tuple[MultiDict, MultiDict]:
    """The request's form fields and files, with files streamed to the upload folder.

    Must run before anything reads `request.form`; an over-size body is a 413
    (`uploads.PayloadTooLarge`) without reading it.
    """
    limit = uploads.max_upload_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise uploads.PayloadTooLarge(uploads.too_large_message())
    make = uploads.incoming_factory(limit)
    received: list = g.setdefault("incoming_files", [])

    def tracked(*args, **kwargs):
        incoming = make(*args, **kwargs)
        received.append(incoming)
        return incoming

    # werkzeug's documented hook for where file parts go
    request._get_file_stream = tracked  # type: ignore[method-assign]
    try:
        return request.form, request.files
    except RequestEntityTooLarge:
        raise uploads.PayloadTooLarge(uploads.too_large_message()) from None


def _discard_unkept(_exc: BaseException | None = None) -> None:
    """Whatever happened to the request (refused, truncated, failed), a file part
    the service did not keep is deleted: refused uploads leave nothing behind."""
    for incoming in g.pop("incoming_files", []):
        incoming.close()


def register(app: Flask) -> None:
    app.teardown_request(_discard_unkept)
