"""Storing an import: rows encoded for the database, one transaction per chunk.

PostgreSQL gets COPY text through a COPY kept open across a chunk's batches, on a
writer thread with its own connection; SQLite gets tuples for executemany, written
in the import thread. Each chunk's commit carries its rows, its refused rows and
the Upload's counters: a committed chunk is the checkpoint a later run resumes from.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import text

from portal.extensions import db
from portal.models import BUSINESS_PARAMS, PHONES, Upload, utcnow
from portal.services import dnc
from portal.services.enums import UploadState

BATCH_ROWS = 5_000


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


def _lite(value: Any) -> Any:
    """Datetimes in SQLAlchemy's SQLite format, so the ORM reads and compares them."""
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    return value


# A stored contact row is (campaign prefix, phones and business params, match key,
# dial time, the per-file defaults for pending or DNC-blocked contacts, upload id,
# line number); the constant parts are encoded once per file.
ContactEncoder = Callable[..., Any]  # (values, key, dial time, blocked, line, row)


def contact_encoder(
    dialect: str, now: datetime, prefix: tuple, tails: dict[bool, tuple]
) -> ContactEncoder:
    """A function making one stored contact row, with the per-file constants made once.

    PostgreSQL gets COPY text lines built here (the server parses them while the
    import thread validates the next batch); SQLite gets tuples for executemany.
    """
    if dialect == "postgresql":
        return _contact_copy_encoder(now, prefix, tails)
    return _contact_tuple_encoder(now, prefix, tails)


def _contact_copy_encoder(
    now: datetime, prefix: tuple, tails: dict[bool, tuple]
) -> ContactEncoder:
    values_of = itemgetter(*PHONES, *BUSINESS_PARAMS)
    head = "\t".join(copy_cell(v) for v in prefix) + "\t"
    tail_text = {b: "\t".join(copy_cell(v) for v in t) + "\t" for b, t in tails.items()}
    now_text = copy_cell(now)
    width = len(PHONES) + len(BUSINESS_PARAMS) - 1

    def encode(
        values: dict,
        key: str,
        dial_time: datetime,
        blocked: bool,
        line: int,
        row: Any = None,
    ):
        parts = values_of(values)
        # NUL marks SQL NULL here: the reader has refused rows containing NUL
        body = "\t".join(["\x00" if v is None else v for v in parts])
        if body.count("\t") != width or _COPY_SPECIAL.search(body):
            body = "\t".join([copy_cell(v) for v in parts])
        else:
            body = body.replace("\x00", COPY_NULL)
        dial = now_text if dial_time is now else dial_time.isoformat(" ")
        if row is None:
            where = f"0\t{COPY_NULL}\t{COPY_NULL}"
        else:  # validated: a number, an IANA name, an ISO code - nothing to escape
            where = "\t".join(
                (str(row.priority), row.time_zone or COPY_NULL, row.region or COPY_NULL)
            )
        return f"{head}{body}\t{key}\t{dial}\t{where}\t{tail_text[blocked]}{line}\n"

    return encode


def _contact_tuple_encoder(
    now: datetime, prefix: tuple, tails: dict[bool, tuple]
) -> ContactEncoder:
    values_of = itemgetter(*PHONES, *BUSINESS_PARAMS)
    lite_tails = {b: tuple(_lite(v) for v in t) for b, t in tails.items()}
    now_lite = _lite(now)

    def encode(
        values: dict,
        key: str,
        dial_time: datetime,
        blocked: bool,
        line: int,
        row: Any = None,
    ):
        dial = now_lite if dial_time is now else _lite(dial_time)
        where = (
            (0, None, None)
            if row is None
            else (row.priority, row.time_zone, row.region)
        )
        return (
            prefix
            + values_of(values)
            + (key, dial)
            + where
            + lite_tails[blocked]
            + (line,)
        )

    return encode


DncEncoder = Callable[[str | None, str, str], Any]


def dnc_encoder(dialect: str, tail: tuple) -> DncEncoder:
    """One DNC entry row (name, number, key, then `tail`): COPY text or a tuple."""
    if dialect == "postgresql":
        tail_text = "\t".join(copy_cell(v) for v in tail)

        def encode(name: str | None, cleaned: str, key: str) -> str:
            return f"{copy_cell(name)}\t{cleaned}\t{key}\t{tail_text}\n"

        return encode
    lite_tail = tuple(_lite(v) for v in tail)

    def encode_lite(name: str | None, cleaned: str, key: str) -> tuple:
        return (name, cleaned, key) + lite_tail

    return encode_lite


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


class ChunkWriter:
    """One connection, one transaction per chunk: rows, errors and counters."""

    def __init__(
        self, upload_id: int, rows_read: int, table: str, columns: tuple[str, ...]
    ) -> None:
        self.engine = db.engine  # taken here: the writer thread has no app context
        self.upload_id = upload_id
        self.table = table
        self.columns = columns
        self.expected_rows_read = rows_read  # what the Upload row says when we begin
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
                state=UploadState.DONE,
                rows_total=counters.rows_read,
                finished_at=utcnow(),
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


Writer = WriterThread | InlineWriter


def start_writer(
    dialect: str, upload_id: int, rows_read: int, table: str, columns: tuple[str, ...]
) -> Writer:
    """The writer for this database, started: PostgreSQL on its own thread."""
    if dialect == "postgresql":
        writer: Writer = WriterThread(
            PostgresWriter(upload_id, rows_read, table, columns)
        )
    else:
        writer = InlineWriter(SqliteWriter(upload_id, rows_read, table, columns))
    writer.start()
    return writer
