"""Bulk CSV uploads (SPEC §5): store the file fast, import it in resumable chunks.

One module per step, in the order an upload goes through them:

- `receive`: the web request streams the file into the upload store while hashing
  it, records an Upload row and queues the job (`store_upload`, `incoming_factory`).
- `storage`: where the file waits for its worker, behind one interface: PostgreSQL
  chunk rows (every host reads them) or a file in ECM_UPLOAD_DIR (one host).
- `jobs`: the job under its deterministic id, and resuming stalled uploads
  (`enqueue_import`, `is_stale`, `resume_stale`, `resume_upload`).
- `csv_source`: reading the stored file as a stream: tolerant decoding, a sniffed
  delimiter, header detection, line numbers (`CsvSource`).
- `importer`: every row checked with the same rules as the single-contact and
  single-DNC endpoints, classified and refused in one place (`run_import`,
  `Importer`).
- `writers`: rows into the database through PostgreSQL COPY (SQLite: executemany),
  one transaction per chunk with the Upload's counters: a committed chunk is the
  checkpoint, so a run that starts again skips the rows already counted.
- `status`: reading uploads back: one, the recent ones, progress, the error report.

Counting: rows_read = accepted + rejected + duplicates, always. DNC-flagged contacts
are accepted rows (stored blocked, state 5 / result 26). Rejected rows and duplicates
are listed with their line number and reason in the upload's error report. Blank lines
(no cell with any text) carry no data and are not counted.
"""

from portal.services.uploads.csv_source import CONTACT_FIELDS, CsvSource
from portal.services.uploads.importer import Importer, run_import
from portal.services.uploads.jobs import (
    DEFAULT_JOB_TIMEOUT,
    enqueue_import,
    is_stale,
    resume_stale,
    resume_upload,
)
from portal.services.uploads.receive import (
    KINDS,
    IncomingFile,
    PayloadTooLarge,
    incoming_factory,
    max_upload_bytes,
    require_uploader,
    store_upload,
    too_large_message,
)
from portal.services.uploads.status import (
    error_report,
    get_upload,
    is_active,
    list_uploads,
    percent,
    report_filename,
)
from portal.services.uploads.writers import LostRace

__all__ = [
    "CONTACT_FIELDS",
    "DEFAULT_JOB_TIMEOUT",
    "KINDS",
    "CsvSource",
    "Importer",
    "IncomingFile",
    "LostRace",
    "PayloadTooLarge",
    "enqueue_import",
    "error_report",
    "incoming_factory",
    "get_upload",
    "is_active",
    "is_stale",
    "list_uploads",
    "max_upload_bytes",
    "percent",
    "report_filename",
    "require_uploader",
    "resume_stale",
    "resume_upload",
    "run_import",
    "store_upload",
    "too_large_message",
]
