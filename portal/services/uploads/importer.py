"""The import: check every row, classify it, hand the batch to the writer.

Rows are checked with the same rules as the single-contact and single-DNC endpoints
(`contacts.validate_contact_fields`, `dnc.validate_entry_fields`). A row that is not
stored is refused in one place (`Importer.refuse`): its line, the reason and its text
go to the error report, and it counts as rejected or as a duplicate. Counting:
rows_read = accepted + rejected + duplicates, always; DNC-flagged contacts are
accepted rows (stored blocked, state 5 / result 26).
"""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from flask import current_app

from portal import metrics
from portal.extensions import db
from portal.models import BUSINESS_PARAMS, PHONES, Campaign, Upload, utcnow
from portal.services import audit, contacts, dnc, suppression
from portal.services.enums import UploadState
from portal.services.errors import ValidationFailed
from portal.services.uploads import storage
from portal.services.uploads.csv_source import (
    CONTACT_FIELDS,
    CsvSource,
    count_lines,
    is_header,
)
from portal.services.uploads.status import ACTIVE_STATES, percent_done
from portal.services.uploads.writers import (
    BATCH_ROWS,
    Chunk,
    Counters,
    LostRace,
    Writer,
    contact_encoder,
    dnc_encoder,
    start_writer,
)

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = {"postgresql": 50_000, "sqlite": 20_000}
MAX_RAW_CHARS = 1_000
DNC_COLUMNS = (
    "name",
    "primary_number",
    "match_key",
    "update_by_id",
    "upload_id",
    "date_created",
    "last_updated",
)
# why a duplicate row is refused: (its key is already stored, it is on an earlier row)
CONTACT_DUPLICATE = (
    "duplicate: phone1 already has an open contact in this campaign",
    "duplicate: phone1 appears on an earlier row of this file",
)
ANYWHERE_DUPLICATE = "duplicate: phone1 already has an open contact in a campaign"
PHONE_DUPLICATE = "duplicate: one of its numbers appears on an earlier row of this file"
DNC_DUPLICATE = (
    "duplicate: already on the DNC list",
    "duplicate: number appears on an earlier row of this file",
)

Progress = Callable[[dict[str, Any]], None]
Record = tuple[int, list[str] | None, str | None]


def raw_text(cells: list[str] | None, delimiter: str) -> str | None:
    """A refused row's text for the error report, cut at MAX_RAW_CHARS."""
    if cells is None:
        return None
    joined = delimiter.join(cells)
    return joined if len(joined) <= MAX_RAW_CHARS else joined[:MAX_RAW_CHARS] + "…"


def reason_of(exc: ValidationFailed) -> str:
    return "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message


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
            or DEFAULT_CHUNK_ROWS.get(self.dialect, 20_000)
        )
        self.batch_rows = min(BATCH_ROWS, self.chunk_rows)
        self.counters = Counters.of(upload)
        self.deny = upload.kind == "dnc" or upload.duplicate_policy == "deny"
        self.anywhere = self.deny and (upload.duplicate_scope or "") == "all"
        # deny: the match keys of every phone (1-5) this run accepted, for duplicates
        # within the file (an earlier run's rows are checked through the database)
        self.file_keys: set[str] = set()
        # keys accepted by this run and not yet visible in a committed chunk
        self.pending_keys: set[str] = set()
        self.campaign: Campaign | None = None
        if self.kind == "contacts":
            self.campaign = db.session.get(Campaign, upload.campaign_id)
            self._prepare_contacts()
        else:
            self.table, self.columns = "dnc_entries", DNC_COLUMNS
            tail = (upload.created_by, self.upload_id, self.now, self.now)
            self.encode_dnc = dnc_encoder(self.dialect, tail)

    def _prepare_contacts(self) -> None:
        """The stored columns and the per-file constant parts of a contact row."""
        campaign = self.campaign
        assert campaign is not None
        pending = contacts.contact_defaults(campaign, False, self.now)
        blocked = contacts.contact_defaults(campaign, True, self.now)
        default_columns = [
            k for k in pending if k not in ("campaign_id", "crm_campaign_id")
        ]
        prefix = (campaign.id, campaign.crm_campaign_id)
        tails = {
            False: tuple(pending[k] for k in default_columns) + (self.upload_id,),
            True: tuple(blocked[k] for k in default_columns) + (self.upload_id,),
        }
        self.encode_contact = contact_encoder(self.dialect, self.now, prefix, tails)
        self.table = "contacts"
        self.columns = (
            "campaign_id",
            "crm_campaign_id",
            *PHONES,
            *BUSINESS_PARAMS,
            "match_key",
            "dial_time",
            "priority",
            "time_zone",
            "region",
            *default_columns,
            "upload_id",
            "row_number",
        )

    # ---- the loop -----------------------------------------------------------

    def run(self) -> Counters:
        """Read, check and classify batches here while the writer stores them."""
        source = CsvSource(self.upload.stored_path)
        writer = start_writer(
            self.dialect,
            self.upload_id,
            self.counters.rows_read,
            self.table,
            self.columns,
        )
        try:
            self._read_batches(source, writer)
            writer.finish()
        finally:
            writer.stop()
        self._take_commits(writer)
        return self.counters

    def _unread_records(self, source: CsvSource) -> Iterator[Record]:
        """The file's records after its header, less those an earlier run counted."""
        records = source.records()
        first = next(records, None)
        if first is None:
            return iter(())
        cells = first[1]
        if cells is None or not is_header(self.kind, cells):
            records = itertools.chain([first], records)
        # the first rows_read records were counted by an earlier run's committed chunk
        return itertools.islice(records, self.counters.rows_read, None)

    def _read_batches(self, source: CsvSource, writer: Writer) -> None:
        """Batches of batch_rows records; every chunk_rows records end a chunk."""
        batch: list[Record] = []
        chunk_read = 0
        for record in self._unread_records(source):
            batch.append(record)
            if len(batch) >= self.batch_rows:
                chunk_read += len(batch)
                end = chunk_read >= self.chunk_rows
                self._send(writer, batch, source, end_chunk=end)
                batch = []
                if end:
                    chunk_read = 0
        self._send(writer, batch, source, end_chunk=True, final=True)

    def _send(
        self,
        writer: Writer,
        batch: list[Record],
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

    def _take_commits(self, writer: Writer) -> None:
        """Chunks the writer has committed are visible to the lookups from now on, so
        their keys need not be held here any more; their counters are the progress."""
        for counters, keys in writer.committed():
            if keys and self.deny:
                self.pending_keys.difference_update(keys)
            if self.progress:
                try:
                    self.progress(self.progress_values(counters))
                except Exception:  # mirroring must not stop an import: logged
                    log.exception(
                        "progress callback failed for upload %s", self.upload_id
                    )

    def progress_values(self, counters: Counters | None = None) -> dict[str, Any]:
        counters = counters or self.counters
        values: dict[str, Any] = {"uploadId": self.upload_id, **counters.values()}
        values["percent"] = percent_done(counters.bytes_done, self.upload.size_bytes)
        return values

    # ---- one batch ------------------------------------------------------------

    def _classify(
        self, batch: list[Record], delimiter: str, chunk: Chunk, position: int
    ) -> None:
        if self.kind == "contacts":
            valid = self._check_contacts(batch, delimiter, chunk)
            if valid:
                self._place_contacts(valid, delimiter, chunk)
        else:
            valid = self._check_dnc(batch, delimiter, chunk)
            if valid:
                self._place_dnc(valid, delimiter, chunk)
        counters = self.counters
        counters.rows_read += len(batch)
        counters.bytes_done = position

    def refuse(
        self,
        chunk: Chunk,
        line: int,
        reason: str,
        cells: list[str] | None,
        delimiter: str,
        duplicate: bool = False,
    ) -> None:
        """A row that is not stored: listed in the error report and counted."""
        chunk.errors.append((line, reason, raw_text(cells, delimiter)))
        if duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.rejected += 1

    def _check_contacts(
        self, batch: list[Record], delimiter: str, chunk: Chunk
    ) -> list[tuple[int, list[str], Any]]:
        """The rows passing the single-contact rules; the others are refused."""
        campaign = self.campaign
        validate = contacts.validate_contact_fields
        region, now = self.region, self.now
        names = CONTACT_FIELDS
        width = len(names)
        valid: list[tuple[int, list[str], Any]] = []
        for line, cells, problem in batch:
            if problem is None and len(cells) > width:
                problem = (
                    f"has {len(cells)} columns; a contact row has at most {width} "
                    "(phone1-phone5, businessParam1-12, dialTime, priority, "
                    "timeZone, region)"
                )
            if problem is not None:
                self.refuse(chunk, line, problem, cells, delimiter)
                continue
            fields = {n: c.strip() for n, c in zip(names, cells, strict=False) if c}
            try:
                row = validate(fields, campaign, now, region=region)
            except ValidationFailed as exc:
                self.refuse(chunk, line, reason_of(exc), cells, delimiter)
                continue
            valid.append((line, cells, row))
        return valid

    def _place_contacts(
        self, valid: list[tuple[int, list[str], Any]], delimiter: str, chunk: Chunk
    ) -> None:
        """Duplicates refused (deny policy), DNC matches stored blocked, the rest
        stored pending."""
        keys = [row.match_key for _, _, row in valid]
        campaign = self.campaign
        # every list that applies to this campaign and its channel (issue 13)
        on_dnc = suppression.permanent_keys(
            keys, campaign.id, suppression.campaign_channel(campaign.type), self.now
        )
        taken: set[str] = set()
        anywhere: set[str] = set()
        if self.deny:
            taken = contacts.open_contact_keys(
                self.campaign.id, keys, upload_id=self.upload_id
            )
            if self.anywhere:
                anywhere = contacts.open_keys_anywhere(keys) - taken
        # end the read transaction: the next lookup sees new commits
        db.session.rollback()
        deny, pending_keys = self.deny, self.pending_keys
        counters = self.counters
        encode = self.encode_contact
        rows, claimed = chunk.rows, chunk.keys
        for line, cells, row in valid:
            key = row.match_key
            if deny:
                reason = self._duplicate(key, row.other_keys, taken, anywhere)
                if reason is not None:
                    self.refuse(chunk, line, reason, cells, delimiter, duplicate=True)
                    continue
                pending_keys.add(key)
                claimed.append(key)
            blocked = key in on_dnc
            if blocked:
                counters.dnc_flagged += 1
            counters.accepted += 1
            rows.append(encode(row.values, key, row.dial_time, blocked, line, row))

    def _duplicate(
        self, key: str, others: tuple[str, ...], taken: set[str], anywhere: set[str]
    ) -> str | None:
        """Why a row is a duplicate under the deny policy (None: it is not); a kept
        row's numbers are remembered for the rest of the file."""
        if key in taken:
            return CONTACT_DUPLICATE[0]
        if key in anywhere:
            return ANYWHERE_DUPLICATE
        if key in self.pending_keys:
            return CONTACT_DUPLICATE[1]
        file_keys = self.file_keys
        if key in file_keys or any(k in file_keys for k in others):
            return PHONE_DUPLICATE
        file_keys.add(key)
        file_keys.update(others)
        return None

    def _check_dnc(
        self, batch: list[Record], delimiter: str, chunk: Chunk
    ) -> list[tuple[int, list[str], str, str, str | None]]:
        """The rows passing the single-DNC-entry rules; the others are refused."""
        validate = dnc.validate_entry_fields
        region = self.region
        valid: list[tuple[int, list[str], str, str, str | None]] = []
        for line, cells, problem in batch:
            if problem is None and len(cells) > 2:
                problem = (
                    f"has {len(cells)} columns; a DNC row has at most 2 "
                    "(number, optional name)"
                )
            if problem is not None:
                self.refuse(chunk, line, problem, cells, delimiter)
                continue
            number = cells[0].strip()
            name = cells[1].strip() if len(cells) > 1 else ""
            try:
                cleaned, key, name_value = validate(number, name or None, region)
            except ValidationFailed as exc:
                self.refuse(chunk, line, reason_of(exc), cells, delimiter)
                continue
            valid.append((line, cells, cleaned, key, name_value))
        return valid

    def _place_dnc(
        self,
        valid: list[tuple[int, list[str], str, str, str | None]],
        delimiter: str,
        chunk: Chunk,
    ) -> None:
        """Numbers already listed or repeated are refused, the rest stored."""
        listed = dnc.blocked_keys([v[3] for v in valid])
        db.session.rollback()
        pending_keys = self.pending_keys
        counters = self.counters
        encode = self.encode_dnc
        for line, cells, cleaned, key, name_value in valid:
            if key in listed or key in pending_keys:
                stored, earlier = DNC_DUPLICATE
                reason = stored if key in listed else earlier
                self.refuse(chunk, line, reason, cells, delimiter, duplicate=True)
                continue
            pending_keys.add(key)
            chunk.keys.append(key)
            counters.accepted += 1
            chunk.rows.append(encode(name_value, cleaned, key))


# --------------------------------------------------------------------------
# One run of an upload's import (the job calls this)
# --------------------------------------------------------------------------


def run_import(
    upload_id: int, progress: Progress | None = None, final_attempt: bool = True
) -> dict[str, Any]:
    """Import an upload from its last checkpoint; safe to run again at any time."""
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        return {"uploadId": upload_id, "state": "missing"}
    if upload.state not in ACTIVE_STATES:
        return summary(upload)
    refusal = _cannot_run(upload)
    if refusal:
        return mark_failed(upload_id, refusal)
    _mark_running(upload)
    # Everything alive now (the app, modules, the ORM) leaves the collector's sight for
    # the run: with millions of short-lived rows it would rescan them over and over
    # (measured: a quarter of the import's CPU time).
    gc.freeze()
    try:
        Importer(upload, progress).run()
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
    return _finish(upload_id)


def _cannot_run(upload: Upload) -> str | None:
    """Why the import cannot start (the file or the campaign is gone), else None."""
    if not upload.stored_path or not storage.exists(upload.stored_path):
        return "The stored file is missing; upload it again"
    if (
        upload.kind == "contacts"
        and db.session.get(Campaign, upload.campaign_id) is None
    ):
        return "The campaign no longer exists"
    return None


def _mark_running(upload: Upload) -> None:
    if upload.started_at is None:
        upload.started_at = utcnow()
    if upload.rows_total is None:
        upload.rows_total = count_lines(upload.stored_path)
    upload.state = UploadState.RUNNING
    upload.error_message = None
    db.session.commit()


def _finish(upload_id: int) -> dict[str, Any]:
    """After the final chunk: drop the file, audit and count the upload."""
    db.session.expire_all()
    upload = db.session.get(Upload, upload_id)
    # the rows and the error report are in the database now; the copy is not needed
    storage.remove(upload.stored_path)
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
    upload.state = UploadState.FAILED
    upload.error_message = message
    upload.finished_at = utcnow()
    db.session.commit()
    metrics.IMPORTS.labels(upload.kind, UploadState.FAILED).inc()
    return summary(upload)


def record_import_metrics(upload: Upload) -> None:
    """Count a finished upload and its rows by outcome for /metrics."""
    metrics.IMPORTS.labels(upload.kind, UploadState.DONE).inc()
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
