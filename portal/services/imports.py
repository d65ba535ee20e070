"""Bulk CSV uploads (SPEC §5): store the file fast, import it in resumable chunks.

The web request only streams the file to ECM_UPLOAD_DIR while hashing it, records an
Upload row and enqueues `worker.jobs.import_upload`. The job reads the file as a stream
and checks every row with the same rules as the single-contact and single-DNC
endpoints (`contacts.validate_contact_fields`, `dnc.validate_entry_fields`). Rows go in
through PostgreSQL COPY (SQLite: executemany), one transaction per chunk, and the
Upload's counters are updated in that same transaction: a committed chunk is the
checkpoint. A run that starts again (RQ retry, `flask uploads-resume`, a second worker)
skips the rows already counted, so a killed worker loses and duplicates nothing.

Counting: rows_read = accepted + rejected + duplicates, always. DNC-flagged contacts
are accepted rows (stored blocked, state 5 / result 26). Rejected rows and duplicates
are listed with their line number and reason in the upload's error report. Blank lines
(no cell with any text) carry no data and are not counted.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import itertools
import logging
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import select, text

from portal import metrics
from portal.extensions import db
from portal.models import (
    BUSINESS_PARAMS,
    PHONES,
    Campaign,
    Upload,
    UploadError,
    User,
    utcnow,
)
from portal.services import audit, campaigns, contacts, dnc, suppression
from portal.services.errors import (
    NotFound,
    ServiceError,
    ServiceUnavailable,
    ValidationFailed,
)
from portal.services.exports import csv_lines
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import as_int

log = logging.getLogger(__name__)

KINDS = ("contacts", "dnc")
ACTIVE_STATES = ("queued", "running")
CONTACT_FIELDS = (
    *PHONES,
    *(f"businessParam{i}" for i in range(1, 13)),
    "dialTime",
)
DNC_FIELDS = ("number", "name")
JOB_FUNCTION = "worker.jobs.import_upload"
DEFAULT_JOB_TIMEOUT = 4 * 3600
DEFAULT_CHUNK_ROWS = {"postgresql": 50_000, "sqlite": 20_000}
BATCH_ROWS = 5_000
MAX_LINE_BYTES = 1 << 20
MAX_RAW_CHARS = 1_000
COPY_BLOCK = 1 << 20
SNIFF_BYTES = 64 * 1024
STALE_SECONDS = 120
HEADER_FIRST_CELL = re.compile(
    r"^(phone|phonenumber|number|numbers|contactnumber|primarynumber|tel|telephone|"
    r"mobile|mobilenumber|msisdn|cell|numbertocall)\d?$"
)
HEADER_CELLS = frozenset(
    [f.lower() for f in CONTACT_FIELDS] + ["name", "businessparam", "dialtime"]
)
_HEADER_NOISE = str.maketrans("", "", " _-.\t\"'")


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


# --------------------------------------------------------------------------
# Receiving a file (the web request)
# --------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _policy(value: Any) -> str:
    text_value = "allow" if value in (None, "") else str(value).strip().lower()
    if text_value not in ("allow", "deny"):
        raise ValidationFailed({"duplicateCallbacks": "must be allow or deny"})
    return text_value


def _safe_name(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return (name or "upload.csv")[:255]


class IncomingFile:
    """A file being received into ECM_UPLOAD_DIR, hashed as it is written.

    Web adapters hand this to werkzeug as the multipart stream factory, so a 100 MB
    upload is written once and never held in memory. Unless `keep()` is called,
    closing it deletes the file (a refused or abandoned request leaves nothing).
    """

    def __init__(self, folder: Path, limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.csv"
        self.limit = limit
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()
        self._out: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115
        self._kept = False

    def write(self, block: bytes) -> int:
        self.size += len(block)
        if self.size > self.limit:
            self.discard()
            raise PayloadTooLarge(too_large_message())
        if len(self.head) < SNIFF_BYTES:
            self.head += block[: SNIFF_BYTES - len(self.head)]
        self._digest.update(block)
        assert self._out is not None
        return self._out.write(block)

    def seek(self, offset: int, whence: int = 0) -> int:
        """werkzeug rewinds a finished part; the bytes are already on disk."""
        if self._out is not None:
            self._out.flush()
        return 0

    def digest(self) -> str:
        return self._digest.hexdigest()

    def finish(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def keep(self) -> None:
        self.finish()
        self._kept = True

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if not self._kept:
            self.discard()

    @classmethod
    def factory(cls, folder: Path, limit: int) -> Callable[..., IncomingFile]:
        """A werkzeug `stream_factory` making one IncomingFile per file part."""

        def make(*_args: Any, **_kwargs: Any) -> IncomingFile:
            return cls(folder, limit)

        return make


def _receive(stream: BinaryIO | IncomingFile, folder: Path) -> IncomingFile:
    """The upload as an IncomingFile: already one, or copied in 1 MB blocks."""
    if isinstance(stream, IncomingFile):
        stream.finish()
        return stream
    incoming = IncomingFile(folder, max_upload_bytes())
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


def store_upload(
    actor: User,
    kind: str,
    stream: BinaryIO | IncomingFile | None,
    filename: str | None,
    campaign_id: Any = None,
    duplicate_policy: Any = None,
    force: Any = False,
) -> Upload:
    """Save an uploaded CSV and queue its import; refuses the same file twice."""
    require(actor, WRITERS)
    if kind not in KINDS:
        raise ValidationFailed({"kind": "must be contacts or dnc"})
    campaign: Campaign | None = None
    if kind == "contacts":
        if campaign_id in (None, ""):
            raise ValidationFailed({"campaignId": "is required"})
        campaign = campaigns.get_campaign(actor, campaign_id, "campaignId")
    policy = _policy(duplicate_policy) if kind == "contacts" else "allow"
    forced = _flag(force)
    if stream is None:
        raise ValidationFailed({"file": "is required (multipart field 'file')"})
    folder = Path(current_app.config["ECM_UPLOAD_DIR"])
    incoming = _receive(stream, folder)
    path, digest, size, head = (
        incoming.path,
        incoming.digest(),
        incoming.size,
        incoming.head,
    )
    try:
        if size == 0:
            raise ValidationFailed({"file": "is empty"}, "Empty file")
        if _looks_binary(head):
            raise ValidationFailed(
                {
                    "file": "is not a CSV text file (binary, or UTF-16): "
                    "save it as CSV UTF-8"
                },
                "Not a CSV file",
            )
        if not forced:
            _refuse_same_file(kind, campaign, digest)
        upload = Upload(
            kind=kind,
            campaign_id=campaign.id if campaign else None,
            filename=_safe_name(filename),
            stored_path=str(path),
            size_bytes=size,
            content_hash=digest,
            duplicate_policy=policy,
            state="queued",
            forced=forced,
            created_by=actor.id,
        )
        db.session.add(upload)
        db.session.flush()
        upload.job_id = job_id_for(upload.id)
        audit.record(
            actor,
            "upload",
            "upload",
            upload.id,
            {
                "kind": kind,
                "campaignId": upload.campaign_id,
                "file": upload.filename,
                "bytes": size,
                "duplicateCallbacks": policy,
                "force": forced,
            },
        )
        db.session.commit()
        incoming.keep()
    except BaseException:
        db.session.rollback()
        incoming.discard()
        raise
    try:
        enqueue_import(upload)
    except Exception as exc:  # noqa: BLE001 - any queue failure means "not queued"
        log.warning("could not queue upload %s: %s", upload.id, exc)
        upload.state = "failed"
        upload.error_message = "The job queue is unavailable; upload the file again"
        upload.finished_at = utcnow()
        db.session.commit()
        raise ServiceUnavailable(
            "The job queue is unavailable; try again shortly"
        ) from None
    return upload


def _refuse_same_file(kind: str, campaign: Campaign | None, digest: str) -> None:
    query = select(Upload).where(
        Upload.kind == kind,
        Upload.content_hash == digest,
        Upload.state != "failed",
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


def job_id_for(upload_id: int) -> str:
    return f"import-{upload_id}"


def job_timeout() -> int:
    return int(
        current_app.config.get("ECM_IMPORT_JOB_TIMEOUT")
        or os.environ.get("ECM_IMPORT_JOB_TIMEOUT")
        or DEFAULT_JOB_TIMEOUT
    )


def enqueue_import(upload: Upload):
    """Queue (or queue again) the import job under its deterministic id."""
    from rq import Retry
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from portal import queue as q

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


# --------------------------------------------------------------------------
# Reading uploads back (status, lists, error report)
# --------------------------------------------------------------------------


def get_upload(actor: User, upload_id: Any) -> Upload:
    require(actor, READERS)
    uid = as_int(upload_id, "id")
    upload = db.session.get(Upload, uid)
    if upload is None:
        raise NotFound(f"Upload with id {uid} not found")
    return upload


def list_uploads(
    actor: User,
    kind: str | None = None,
    campaign_id: int | None = None,
    limit: int = 10,
) -> list[Upload]:
    """The most recent uploads, newest first, of one kind and campaign if given."""
    require(actor, READERS)
    query = select(Upload).order_by(Upload.id.desc()).limit(max(1, min(limit, 100)))
    if kind:
        query = query.where(Upload.kind == kind)
    if campaign_id is not None:
        query = query.where(Upload.campaign_id == campaign_id)
    return list(db.session.scalars(query))


def percent(upload: Upload) -> int:
    """Progress by bytes read (exact even while the row total is an estimate)."""
    if upload.state == "done":
        return 100
    if not upload.size_bytes:
        return 0
    return min(99, int(upload.bytes_done * 100 / upload.size_bytes))


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


# --------------------------------------------------------------------------
# Reading a stored file: tolerant decoding, sniffed delimiter, byte position
# --------------------------------------------------------------------------


class CsvSource:
    """The records of a stored upload, read as a stream with their line numbers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.position = 0
        self.delimiter = ","
        self.cp1252_lines = 0
        self._overlong = False
        self._nul = False

    def _lines(self, handle: BinaryIO) -> Iterator[str]:
        """Decoded physical lines: UTF-8 (BOM dropped), else cp1252; never raises."""
        readline = handle.readline
        limit = MAX_LINE_BYTES
        first = True
        while True:
            raw = readline(limit)
            if not raw:
                return
            self.position += len(raw)
            if len(raw) == limit and raw[-1:] != b"\n":
                while True:  # skip the rest of an absurdly long line
                    more = readline(limit)
                    self.position += len(more)
                    if not more or more[-1:] == b"\n":
                        break
                self._overlong = True
                yield "\n"
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("cp1252", "replace")
                self.cp1252_lines += 1
            if "\x00" in line:
                self._nul = True
                line = line.replace("\x00", "")
            if first:
                first = False
                if line[:1] == "\ufeff":
                    line = line[1:]
            yield line

    @staticmethod
    def sniff(line: str) -> str:
        """`;` or tab when the first line has more of them than commas."""
        counts = {d: line.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=lambda d: (counts[d], d == ","))
        return best if counts[best] else ","

    def records(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """(line number, cells, problem) for every non-blank record, in file order."""
        with open(self.path, "rb", buffering=1 << 20) as handle:
            lines = self._lines(handle)
            first = next(lines, None)
            if first is None:
                return
            self.delimiter = self.sniff(first)
            reader = csv.reader(
                itertools.chain([first], lines), delimiter=self.delimiter
            )
            consumed = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = consumed + 1
                    consumed = reader.line_num
                    yield line, None, f"unreadable CSV ({exc})"
                    continue
                line = consumed + 1
                consumed = reader.line_num
                if self._overlong:
                    self._overlong = self._nul = False
                    yield line, None, f"line is longer than {MAX_LINE_BYTES} bytes"
                    continue
                if self._nul:
                    self._nul = False
                    yield line, cells, "row: must not contain NUL characters"
                    continue
                if not cells or (
                    not cells[0].strip() and not any(c.strip() for c in cells)
                ):
                    continue
                yield line, cells, None


def _is_header(kind: str, cells: list[str]) -> bool:
    """A first row naming columns (phone1, number, businessParam1, ...) is a header.

    A row whose first cell holds digits is data even if a later cell reads like a
    column name: the seed's own example row is `0300948984,,,,,businessParam1`.
    """
    names = [c.translate(_HEADER_NOISE).lower() for c in cells]
    if HEADER_FIRST_CELL.match(names[0]):
        return True
    if any(ch.isdigit() for ch in names[0]):
        return False
    return kind == "contacts" and any(n in HEADER_CELLS and n != "name" for n in names)


def count_lines(path: str | Path) -> int:
    """Physical lines in the file: the row count to expect, before reading it."""
    total = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(COPY_BLOCK * 4):
            total += block.count(b"\n")
            last = block[-1:]
    return total + (0 if last == b"\n" else 1)


COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_COPY_SPECIAL = re.compile(r"[\\\n\r]")


def copy_cell(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return COPY_NULL
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


def _raw_text(cells: list[str] | None, delimiter: str) -> str | None:
    if cells is None:
        return None
    joined = delimiter.join(cells)
    return joined if len(joined) <= MAX_RAW_CHARS else joined[:MAX_RAW_CHARS] + "…"


def _reason(exc: ValidationFailed) -> str:
    return "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message


# --------------------------------------------------------------------------
# The import
# --------------------------------------------------------------------------


@dataclass
class Counters:
    """What the Upload row stores at each checkpoint."""

    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    dnc_flagged: int = 0
    bytes_done: int = 0

    @classmethod
    def of(cls, upload: Upload) -> Counters:
        return cls(
            upload.rows_read or 0,
            upload.accepted or 0,
            upload.rejected or 0,
            upload.duplicates or 0,
            upload.dnc_flagged or 0,
            upload.bytes_done or 0,
        )

    def values(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "dnc_flagged": self.dnc_flagged,
            "bytes_done": self.bytes_done,
        }


@dataclass
class Chunk:
    """One batch on its way to the writer: its rows, its refused rows, the keys it
    accepted and the counters as they stand after it."""

    rows: list = field(default_factory=list)
    errors: list[tuple[int, str, str | None]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    counters: Counters | None = None
    end_chunk: bool = False
    final: bool = False


class LostRace(Exception):
    """Another run of the same upload committed first; this one stops."""


Progress = Callable[[dict[str, Any]], None]


class Importer:
    """One run of an upload's import, from its last checkpoint to the end."""

    def __init__(self, upload: Upload, progress: Progress | None = None) -> None:
        self.upload = upload
        self.upload_id = upload.id
        self.kind = upload.kind
        self.progress = progress
        self.region = dnc.region()
        self.now = utcnow()
        self.dialect = db.engine.dialect.name
        self.chunk_rows = int(
            current_app.config.get("ECM_IMPORT_CHUNK_ROWS")
            or os.environ.get("ECM_IMPORT_CHUNK_ROWS")
            or DEFAULT_CHUNK_ROWS.get(self.dialect, 20_000)
        )
        self.batch_rows = min(BATCH_ROWS, self.chunk_rows)
        self.counters = Counters.of(upload)
        self.deny = upload.kind == "dnc" or upload.duplicate_policy == "deny"
        # keys accepted by this run and not yet visible in a committed chunk
        self.pending_keys: set[str] = set()
        self.campaign: Campaign | None = None
        if self.kind == "contacts":
            self.campaign = db.session.get(Campaign, upload.campaign_id)
            self._prepare_contacts()
        else:
            self.encode_dnc = self._dnc_encoder()

    # ---- per-kind setup -------------------------------------------------

    def _prepare_contacts(self) -> None:
        campaign = self.campaign
        assert campaign is not None
        pending = contacts.contact_defaults(campaign, False, self.now)
        blocked = contacts.contact_defaults(campaign, True, self.now)
        self.default_columns = [
            k for k in pending if k not in ("campaign_id", "crm_campaign_id")
        ]
        prefix = (campaign.id, campaign.crm_campaign_id)
        tails = {
            False: tuple(pending[k] for k in self.default_columns) + (self.upload_id,),
            True: tuple(blocked[k] for k in self.default_columns) + (self.upload_id,),
        }
        self.encode_contact = self._contact_encoder(prefix, tails)
        self.columns = (
            "campaign_id",
            "crm_campaign_id",
            *PHONES,
            *BUSINESS_PARAMS,
            "match_key",
            "dial_time",
            *self.default_columns,
            "upload_id",
            "row_number",
        )

    def _contact_encoder(self, prefix: tuple, tails: dict[bool, tuple]) -> Callable:
        """A function making one stored row, with the per-file constants made once.

        PostgreSQL gets COPY text lines built here (the server parses them while this
        process validates the next batch); SQLite gets tuples for executemany.
        """
        values_of = itemgetter(*PHONES, *BUSINESS_PARAMS)
        now = self.now
        if self.dialect == "postgresql":
            head = "\t".join(copy_cell(v) for v in prefix) + "\t"
            tail_text = {
                b: "\t".join(copy_cell(v) for v in t) + "\t" for b, t in tails.items()
            }
            now_text = copy_cell(now)
            width = len(PHONES) + len(BUSINESS_PARAMS) - 1

            def encode(
                values: dict, key: str, dial_time: datetime, blocked: bool, line: int
            ):
                parts = values_of(values)
                # NUL marks SQL NULL here: the reader has refused rows containing NUL
                body = "\t".join(["\x00" if v is None else v for v in parts])
                if body.count("\t") != width or _COPY_SPECIAL.search(body):
                    body = "\t".join([copy_cell(v) for v in parts])
                else:
                    body = body.replace("\x00", COPY_NULL)
                dial = now_text if dial_time is now else dial_time.isoformat(" ")
                return f"{head}{body}\t{key}\t{dial}\t{tail_text[blocked]}{line}\n"

            return encode
        lite_tails = {b: tuple(_lite(v) for v in t) for b, t in tails.items()}
        now_lite = _lite(now)

        def encode_lite(
            values: dict, key: str, dial_time: datetime, blocked: bool, line: int
        ):
            dial = now_lite if dial_time is now else _lite(dial_time)
            return (
                prefix + values_of(values) + (key, dial) + lite_tails[blocked] + (line,)
            )

        return encode_lite

    def _dnc_encoder(self) -> Callable:
        """One DNC entry row: COPY text on PostgreSQL, a tuple on SQLite."""
        tail = (self.upload.created_by, self.upload_id, self.now, self.now)
        if self.dialect == "postgresql":
            tail_text = "\t".join(copy_cell(v) for v in tail)

            def encode(name: str | None, cleaned: str, key: str) -> str:
                return f"{copy_cell(name)}\t{cleaned}\t{key}\t{tail_text}\n"

            return encode
        lite_tail = tuple(_lite(v) for v in tail)

        def encode_lite(name: str | None, cleaned: str, key: str) -> tuple:
            return (name, cleaned, key) + lite_tail

        return encode_lite

    # ---- the loop -----------------------------------------------------------

    def run(self) -> Counters:
        """Read, check and classify batches here while a writer thread stores them."""
        source = CsvSource(self.upload.stored_path)
        skip = self.counters.rows_read
        seen = 0
        header_checked = False
        batch: list[tuple[int, list[str] | None, str | None]] = []
        chunk_read = 0
        threaded = self.dialect == "postgresql"
        writer: WriterThread | InlineWriter = (
            WriterThread if threaded else InlineWriter
        )(self._writer())
        writer.start()
        try:
            for line, cells, problem in source.records():
                if not header_checked:
                    header_checked = True
                    if cells is not None and _is_header(self.kind, cells):
                        continue
                if seen < skip:
                    seen += 1  # counted by an earlier run's committed chunk
                    continue
                seen += 1
                batch.append((line, cells, problem))
                if len(batch) >= self.batch_rows:
                    chunk_read += len(batch)
                    end = chunk_read >= self.chunk_rows
                    self._send(writer, batch, source, end_chunk=end)
                    batch = []
                    if end:
                        chunk_read = 0
            self._send(writer, batch, source, end_chunk=True, final=True)
            writer.finish()
        finally:
            writer.stop()
        self._take_commits(writer)
        return self.counters

    def _send(
        self,
        writer: WriterThread,
        batch: list,
        source: CsvSource,
        end_chunk: bool,
        final: bool = False,
    ) -> None:
        self._take_commits(writer)  # before the lookups: see _take_commits
        chunk = Chunk()
        if batch:
            self._classify(batch, source.delimiter, chunk, source.position)
        if final:
            self.counters.bytes_done = self.upload.size_bytes or source.position
        chunk.counters = replace(self.counters)
        chunk.end_chunk = end_chunk
        chunk.final = final
        writer.send(chunk)

    def _take_commits(self, writer: WriterThread) -> None:
        """Chunks the writer has committed are visible to the lookups from now on, so
        their keys need not be held here any more; their counters are the progress."""
        for counters, keys in writer.committed():
            if keys and self.deny:
                self.pending_keys.difference_update(keys)
            if self.progress:
                try:
                    self.progress(self.progress_values(counters))
                except Exception:  # noqa: BLE001 - mirroring must not stop an import
                    log.exception(
                        "progress callback failed for upload %s", self.upload_id
                    )

    def progress_values(self, counters: Counters | None = None) -> dict[str, Any]:
        counters = counters or self.counters
        values: dict[str, Any] = {"uploadId": self.upload_id, **counters.values()}
        size = self.upload.size_bytes or 0
        values["percent"] = (
            min(99, int(counters.bytes_done * 100 / size)) if size else 0
        )
        return values

    # ---- one batch -------------------------------------------------------------

    def _classify(
        self,
        batch: list[tuple[int, list[str] | None, str | None]],
        delimiter: str,
        chunk: Chunk,
        position: int,
    ) -> None:
        if self.kind == "contacts":
            self._classify_contacts(batch, delimiter, chunk)
        else:
            self._classify_dnc(batch, delimiter, chunk)
        counters = self.counters
        counters.rows_read += len(batch)
        counters.bytes_done = position

    def _classify_contacts(self, batch, delimiter: str, chunk: Chunk) -> None:
        campaign = self.campaign
        validate = contacts.validate_contact_fields
        region, now = self.region, self.now
        names = CONTACT_FIELDS
        width = len(names)
        valid: list[tuple[int, list[str], Any]] = []
        errors = chunk.errors
        counters = self.counters
        for line, cells, problem in batch:
            if problem is not None:
                errors.append((line, problem, _raw_text(cells, delimiter)))
                counters.rejected += 1
                continue
            if len(cells) > width:
                errors.append(
                    (
                        line,
                        f"has {len(cells)} columns; a contact row has at most {width} "
                        "(phone1-phone5, businessParam1-12, dialTime)",
                        _raw_text(cells, delimiter),
                    )
                )
                counters.rejected += 1
                continue
            fields = {n: c.strip() for n, c in zip(names, cells, strict=False) if c}
            try:
                row = validate(fields, campaign, now, region=region)
            except ValidationFailed as exc:
                errors.append((line, _reason(exc), _raw_text(cells, delimiter)))
                counters.rejected += 1
                continue
            valid.append((line, cells, row))
        if not valid:
            return
        keys = [row.match_key for _, _, row in valid]
        on_dnc = suppression.permanent_keys(
            keys, campaign.id, suppression.campaign_channel(campaign.type), self.now
        )
        taken: set[str] = set()
        if self.deny:
            taken = contacts.open_contact_keys(
                campaign.id, keys, upload_id=self.upload_id
            )
        # end the read transaction: the next lookup sees new commits
        db.session.rollback()
        pending_keys = self.pending_keys
        deny = self.deny
        encode = self.encode_contact
        rows = chunk.rows
        for line, cells, row in valid:
            key = row.match_key
            if deny:
                if key in taken:
                    errors.append(
                        (
                            line,
                            "duplicate: phone1 already has an open contact "
                            "in this campaign",
                            _raw_text(cells, delimiter),
                        )
                    )
                    counters.duplicates += 1
                    continue
                if key in pending_keys:
                    errors.append(
                        (
                            line,
                            "duplicate: phone1 appears on an earlier row of this file",
                            _raw_text(cells, delimiter),
                        )
                    )
                    counters.duplicates += 1
                    continue
                pending_keys.add(key)
                chunk.keys.append(key)
            blocked = key in on_dnc
            if blocked:
                counters.dnc_flagged += 1
            counters.accepted += 1
            rows.append(encode(row.values, key, row.dial_time, blocked, line))

    def _classify_dnc(self, batch, delimiter: str, chunk: Chunk) -> None:
        validate = dnc.validate_entry_fields
        region = self.region
        errors = chunk.errors
        counters = self.counters
        valid: list[tuple[int, list[str], str, str, str | None]] = []
        for line, cells, problem in batch:
            if problem is not None:
                errors.append((line, problem, _raw_text(cells, delimiter)))
                counters.rejected += 1
                continue
            if len(cells) > 2:
                errors.append(
                    (
                        line,
                        f"has {len(cells)} columns; a DNC row has at most 2 "
                        "(number, optional name)",
                        _raw_text(cells, delimiter),
                    )
                )
                counters.rejected += 1
                continue
            number = cells[0].strip()
            name = cells[1].strip() if len(cells) > 1 else ""
            try:
                cleaned, key, name_value = validate(number, name or None, region)
            except ValidationFailed as exc:
                errors.append((line, _reason(exc), _raw_text(cells, delimiter)))
                counters.rejected += 1
                continue
            valid.append((line, cells, cleaned, key, name_value))
        if not valid:
            return
        listed = dnc.blocked_keys([v[3] for v in valid])
        db.session.rollback()
        pending_keys = self.pending_keys
        encode = self.encode_dnc
        for line, cells, cleaned, key, name_value in valid:
            if key in listed:
                errors.append(
                    (
                        line,
                        "duplicate: already on the DNC list",
                        _raw_text(cells, delimiter),
                    )
                )
                counters.duplicates += 1
                continue
            if key in pending_keys:
                errors.append(
                    (
                        line,
                        "duplicate: number appears on an earlier row of this file",
                        _raw_text(cells, delimiter),
                    )
                )
                counters.duplicates += 1
                continue
            pending_keys.add(key)
            chunk.keys.append(key)
            counters.accepted += 1
            chunk.rows.append(encode(name_value, cleaned, key))

    # ---- writing --------------------------------------------------------------

    def _writer(self) -> ChunkWriter:
        if self.kind == "contacts":
            table, columns = "contacts", self.columns
        else:
            table = "dnc_entries"
            columns = (
                "name",
                "primary_number",
                "match_key",
                "update_by_id",
                "upload_id",
                "date_created",
                "last_updated",
            )
        cls = PostgresWriter if self.dialect == "postgresql" else SqliteWriter
        return cls(self, table, columns)


class ChunkWriter:
    """One connection, one transaction per chunk: rows, errors and counters."""

    def __init__(
        self, importer: Importer, table: str, columns: tuple[str, ...]
    ) -> None:
        self.engine = db.engine  # taken here: the writer thread has no app context
        self.upload_id = importer.upload_id
        self.table = table
        self.columns = columns
        self.expected_rows_read = importer.counters.rows_read
        self.conn = None
        self.open = False
        self.commits = 0
        self.blocked_contacts = 0  # DNC uploads: pending contacts blocked by this run
        self.errors: list[tuple[int, str, str | None]] = []
        self.keys: list[str] = []

    def __enter__(self) -> ChunkWriter:
        self.conn = self.engine.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.open:
                self._abort()
                self.conn.rollback()
        finally:
            self.conn.close()

    def _begin(self) -> None:
        """Take the upload row first: a second run of the upload waits, then stops."""
        result = self.conn.execute(
            text(
                "UPDATE uploads SET state = 'running' "
                "WHERE id = :id AND rows_read = :expected "
                "AND state IN ('queued', 'running')"
            ),
            {"id": self.upload_id, "expected": self.expected_rows_read},
        )
        if result.rowcount != 1:
            self.conn.rollback()
            raise LostRace(f"upload {self.upload_id} was advanced by another run")
        self.open = True

    def write(self, chunk: Chunk) -> tuple[Counters, list[str]] | None:
        """Store one batch; at the end of a chunk commit it and return the counters
        as committed and the keys the chunk added (else None)."""
        if not self.open:
            self._begin()
        if chunk.rows:
            self._write_rows(chunk.rows)
        self.errors.extend(chunk.errors)
        self.keys.extend(chunk.keys)
        if not (chunk.end_chunk or chunk.final):
            return None
        return self.commit(chunk.counters, chunk.final)

    def commit(self, counters: Counters, final: bool) -> tuple[Counters, list[str]]:
        self._end_rows()
        if self.table == "dnc_entries" and self.keys:
            self.blocked_contacts += self._block_contacts(self.keys)
        if self.errors:
            self._write_errors(self.errors)
        counters = replace(counters)
        counters.dnc_flagged += self.blocked_contacts
        values = counters.values()
        if final:
            values.update(
                state="done", rows_total=counters.rows_read, finished_at=utcnow()
            )
        self.conn.execute(
            Upload.__table__.update()
            .where(Upload.id == self.upload_id)
            .values(**values)
        )
        self.conn.commit()
        self.open = False
        keys, self.errors, self.keys = self.keys, [], []
        self.expected_rows_read = counters.rows_read
        self.commits += 1
        if final or self.commits == 1:
            self._refresh_statistics()
        return counters, keys

    def _refresh_statistics(self) -> None:
        """Bulk loads leave the planner's row counts stale: the next lookups (and the
        feed) would scan whole tables. ANALYZE samples, so it stays cheap."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text(f"ANALYZE {self.table}"))
            self.conn.commit()

    def _block_contacts(self, keys: list[str]) -> int:
        blocked = 0
        for start in range(0, len(keys), BATCH_ROWS):
            blocked += dnc.block_open_contacts(
                keys[start : start + BATCH_ROWS], self.conn
            )
        return blocked

    # dialect specifics
    def _write_rows(self, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _end_rows(self) -> None:
        pass

    def _abort(self) -> None:
        pass

    def _write_errors(self, errors: list[tuple[int, str, str | None]]) -> None:
        raise NotImplementedError


class PostgresWriter(ChunkWriter):
    """COPY ... FROM STDIN kept open across a chunk's batches.

    The server ingests each batch while this process validates the next one, so the
    two cores work at once; the COPY ends just before the chunk's commit.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.cursor = None
        self.copy_cm = None
        self.copy = None

    def _write_rows(self, rows: list[tuple]) -> None:
        if self.copy is None:
            driver = self.conn.connection.driver_connection
            self.cursor = driver.cursor()
            sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
            self.copy_cm = self.cursor.copy(sql)
            self.copy = self.copy_cm.__enter__()
        self.copy.write("".join(rows))

    def _end_rows(self) -> None:
        if self.copy is not None:
            self.copy_cm.__exit__(None, None, None)
            self.cursor.close()
        self.cursor = self.copy_cm = self.copy = None

    def _abort(self) -> None:
        if self.copy is not None:
            try:
                self.copy_cm.__exit__(
                    RuntimeError, RuntimeError("import aborted"), None
                )
            except Exception:  # noqa: BLE001 - the COPY is being thrown away
                pass
            self.cursor.close()
        self.cursor = self.copy_cm = self.copy = None

    def _write_errors(self, errors: list[tuple[int, str, str | None]]) -> None:
        driver = self.conn.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(
                "COPY upload_errors (upload_id, line_number, reason, raw) FROM STDIN"
            ) as copy:
                upload_id = self.upload_id
                for line, reason, raw in errors:
                    copy.write_row((upload_id, line, reason, raw))


def _lite(value: Any) -> Any:
    """Datetimes in SQLAlchemy's SQLite format, so the ORM reads and compares them."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    return value


class SqliteWriter(ChunkWriter):
    """executemany per batch inside the chunk's transaction."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        marks = ", ".join("?" for _ in self.columns)
        self.sql = (
            f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})"
        )

    def _write_rows(self, rows: list[tuple]) -> None:
        self.conn.connection.driver_connection.executemany(self.sql, rows)

    def _write_errors(self, errors: list[tuple[int, str, str | None]]) -> None:
        driver = self.conn.connection.driver_connection
        upload_id = self.upload_id
        driver.executemany(
            "INSERT INTO upload_errors (upload_id, line_number, reason, raw) "
            "VALUES (?, ?, ?, ?)",
            [(upload_id, line, reason, raw) for line, reason, raw in errors],
        )


class InlineWriter:
    """The WriterThread's interface, writing in the import thread (SQLite: binding the
    rows holds the GIL, so a second thread only adds switching, measured 10% slower)."""

    def __init__(self, writer: ChunkWriter) -> None:
        self.writer = writer
        self.done: list[tuple[Counters, list[str]]] = []
        self.entered = False

    def start(self) -> None:
        self.writer.__enter__()
        self.entered = True

    def send(self, chunk: Chunk) -> None:
        committed = self.writer.write(chunk)
        if committed is not None:
            self.done.append(committed)

    def committed(self) -> list[tuple[Counters, list[str]]]:
        done, self.done = self.done, []
        return done

    def finish(self) -> None:
        pass

    def stop(self) -> None:
        if self.entered:
            self.entered = False
            self.writer.__exit__(None, None, None)


class WriterThread(threading.Thread):
    """Stores batches on its own connection while the import thread checks the next.

    PostgreSQL (or SQLite's C code) works on the other core meanwhile: waiting for the
    server, committing a chunk and ANALYZE no longer stall reading and validating.
    """

    def __init__(self, writer: ChunkWriter) -> None:
        super().__init__(name=f"upload-{writer.upload_id}-writer", daemon=True)
        self.writer = writer
        self.inbox: queue.Queue[Chunk | None] = queue.Queue(maxsize=4)
        self.outbox: queue.Queue[tuple[Counters, list[str]]] = queue.Queue()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.writer as writer:
                while (chunk := self.inbox.get()) is not None:
                    committed = writer.write(chunk)
                    if committed is not None:
                        self.outbox.put(committed)
                    if chunk.final:
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the import thread
            self.error = exc

    def send(self, chunk: Chunk) -> None:
        while True:
            self._check()
            try:
                self.inbox.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue

    def committed(self) -> list[tuple[Counters, list[str]]]:
        self._check()
        done = []
        while True:
            try:
                done.append(self.outbox.get_nowait())
            except queue.Empty:
                return done

    def finish(self) -> None:
        """Wait until the final chunk is committed."""
        while self.is_alive():
            self.join(timeout=0.5)
        self._check()

    def stop(self) -> None:
        """Make the thread roll back and leave (after an error or a job timeout)."""
        if not self.is_alive():
            return
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                break
        try:
            self.inbox.put_nowait(None)
        except queue.Full:
            pass
        self.join(timeout=60)

    def _check(self) -> None:
        if self.error is not None:
            raise self.error
        if not self.is_alive() and self.inbox.qsize() and self.error is None:
            raise RuntimeError("the upload writer stopped unexpectedly")


def run_import(
    upload_id: int, progress: Progress | None = None, final_attempt: bool = True
) -> dict[str, Any]:
    """Import an upload from its last checkpoint; safe to run again at any time."""
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        return {"uploadId": upload_id, "state": "missing"}
    if upload.state not in ACTIVE_STATES:
        return summary(upload)
    if not os.path.exists(upload.stored_path):
        return mark_failed(upload_id, "The stored file is missing; upload it again")
    if (
        upload.kind == "contacts"
        and db.session.get(Campaign, upload.campaign_id) is None
    ):
        return mark_failed(upload_id, "The campaign no longer exists")
    if upload.started_at is None:
        upload.started_at = utcnow()
    if upload.rows_total is None:
        upload.rows_total = count_lines(upload.stored_path)
    upload.state = "running"
    upload.error_message = None
    db.session.commit()
    # Everything alive now (the app, modules, the ORM) leaves the collector's sight for
    # the run: with millions of short-lived rows it would rescan them over and over
    # (measured: a quarter of the import's CPU time).
    gc.freeze()
    try:
        importer = Importer(upload, progress)
        importer.run()
    except LostRace as exc:
        db.session.rollback()
        log.info("%s", exc)
        return {"uploadId": upload_id, "state": "taken over by another run"}
    except BaseException as exc:
        db.session.rollback()
        if final_attempt and isinstance(exc, Exception):
            mark_failed(
                upload_id, f"Import stopped: {type(exc).__name__}: {exc}"[:2000]
            )
        raise
    finally:
        gc.unfreeze()
    db.session.expire_all()
    upload = db.session.get(Upload, upload_id)
    # the rows and the error report are in the database now; the copy is not needed
    Path(upload.stored_path).unlink(missing_ok=True)
    audit.record(
        None,
        "import",
        "upload",
        upload.id,
        {
            "accepted": upload.accepted,
            "rejected": upload.rejected,
            "duplicates": upload.duplicates,
            "dncFlagged": upload.dnc_flagged,
        },
        summary=f"imported {upload.filename}",
    )
    record_import_metrics(upload)
    db.session.commit()
    return summary(upload)


def mark_failed(upload_id: int, message: str) -> dict[str, Any]:
    """Record a final failure; committed rows stay, and a resume can still finish."""
    db.session.rollback()
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        return {"uploadId": upload_id, "state": "missing"}
    upload.state = "failed"
    upload.error_message = message
    upload.finished_at = utcnow()
    db.session.commit()
    metrics.IMPORTS.labels(upload.kind, "failed").inc()
    return summary(upload)


def record_import_metrics(upload: Upload) -> None:
    """Count a finished upload and its rows by outcome for /metrics."""
    metrics.IMPORTS.labels(upload.kind, "done").inc()
    for outcome, count in (
        ("accepted", upload.accepted),
        ("rejected", upload.rejected),
        ("duplicate", upload.duplicates),
        ("dnc_flagged", upload.dnc_flagged),
    ):
        if count:
            metrics.IMPORT_ROWS.labels(upload.kind, outcome).inc(count)


def summary(upload: Upload) -> dict[str, Any]:
    """The small dict a job returns."""
    return {
        "uploadId": upload.id,
        "state": upload.state,
        "rowsRead": upload.rows_read,
        "accepted": upload.accepted,
        "rejected": upload.rejected,
        "duplicates": upload.duplicates,
        "dncFlagged": upload.dnc_flagged,
    }


# --------------------------------------------------------------------------
# Resuming
# --------------------------------------------------------------------------


def job_state(upload: Upload) -> tuple[str, datetime | None]:
    """The RQ status of the upload's job and when it last showed life ("missing")."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from portal import queue as q

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
        upload.state == "queued"
        and (now - upload.created_at).total_seconds() < older_than
    ):
        return False  # just uploaded: its job is being queued right now
    status, beat = job_state(upload)
    if status in ("queued", "scheduled", "deferred"):
        return False
    if status == "started":
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
    return resumed


def resume_upload(actor: User, upload_id: Any) -> Upload:
    """Queue a stalled or failed upload again; it continues from its last checkpoint."""
    require(actor, WRITERS)
    upload = get_upload(actor, upload_id)
    if upload.state == "done":
        raise ValidationFailed({"id": "this upload is already complete"})
    if upload.state in ACTIVE_STATES and not is_stale(upload):
        raise ValidationFailed({"id": "this upload is still being imported"})
    upload.state = "queued"
    upload.error_message = None
    upload.finished_at = None
    audit.record(actor, "resume", "upload", upload.id)
    db.session.commit()
    try:
        enqueue_import(upload)
    except Exception:  # noqa: BLE001
        raise ServiceUnavailable(
            "The job queue is unavailable; try again shortly"
        ) from None
    return upload
