"""Where uploaded files are kept between the web request and the import job.

One interface, two stores, chosen by ECM_UPLOAD_STORAGE:

- `database` (the default on PostgreSQL): the file is `upload_files` /
  `upload_file_chunks` rows of at most 1 MB, so every worker on every host reads it
  through the connection it already has. No shared disk.
- `disk` (the default on SQLite, the embedded mode's one host): a file in
  ECM_UPLOAD_DIR.

Both are written as the multipart parser hands over blocks (hashed on the way) and read
back as a buffered binary stream, one block at a time: a file is never whole in memory.
A stored file is referenced by `Upload.stored_path`: a path, or `db:<upload_files.id>`.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import delete, insert, select, update

from portal.extensions import db
from portal.models import Upload, UploadFile, UploadFileChunk, utcnow

CHUNK_BYTES = 1 << 20
SNIFF_BYTES = 64 * 1024
DB_PREFIX = "db:"
# a request that is still streaming its file has written its row this long ago at most
ABANDONED_AFTER = timedelta(hours=1)


class Storage(StrEnum):
    DATABASE = "database"
    DISK = "disk"


def storage() -> Storage:
    """The configured store; `database` unless set, or the database is SQLite."""
    value = (current_app.config.get("ECM_UPLOAD_STORAGE") or "").strip().lower()
    if value in set(Storage):
        return Storage(value)
    if db.engine.dialect.name == "sqlite":
        return Storage.DISK
    return Storage.DATABASE


# ---- receiving ---------------------------------------------------------------------


class IncomingFile:
    """A file being received, hashed as it is written.

    Web adapters hand this to werkzeug as the multipart stream factory, so a 100 MB
    upload is written once and never held in memory. Unless `keep()` is called,
    closing it deletes what was written (a refused or abandoned request leaves
    nothing). Subclasses say where the bytes go.
    """

    def __init__(self, limit: int, too_large: Callable[[], Exception]) -> None:
        self.limit = limit
        self.too_large = too_large
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()
        self._kept = False
        self._finished = False

    @property
    def ref(self) -> str:
        raise NotImplementedError

    def _store(self, block: bytes) -> None:
        raise NotImplementedError

    def _close_store(self) -> None:
        raise NotImplementedError

    def _remove(self) -> None:
        raise NotImplementedError

    def write(self, block: bytes) -> int:
        self.size += len(block)
        if self.size > self.limit:
            self.discard()
            raise self.too_large()
        if len(self.head) < SNIFF_BYTES:
            self.head += block[: SNIFF_BYTES - len(self.head)]
        self._digest.update(block)
        self._store(block)
        return len(block)

    def seek(self, offset: int, whence: int = 0) -> int:
        """werkzeug rewinds a finished part; the bytes are already stored."""
        return 0

    def digest(self) -> str:
        return self._digest.hexdigest()

    def finish(self) -> None:
        if not self._finished:
            self._finished = True
            self._close_store()

    def keep(self, upload_id: int) -> None:
        """Give the file to its Upload row, in the session that is about to commit
        that row; `discard()` still removes it if that commit fails."""
        self.finish()
        self._attach(upload_id)
        self._kept = True

    def _attach(self, upload_id: int) -> None:
        pass

    def discard(self) -> None:
        self.finish()
        self._remove()

    def close(self) -> None:
        if not self._kept:
            self.discard()


class DiskFile(IncomingFile):
    """A file in ECM_UPLOAD_DIR (embedded mode: one host)."""

    def __init__(
        self, folder: Path, limit: int, too_large: Callable[[], Exception]
    ) -> None:
        super().__init__(limit, too_large)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.csv"
        self._out: BinaryIO = open(self.path, "wb")  # noqa: SIM115

    @property
    def ref(self) -> str:
        return str(self.path)

    def _store(self, block: bytes) -> None:
        self._out.write(block)

    def _close_store(self) -> None:
        self._out.close()

    def _remove(self) -> None:
        self.path.unlink(missing_ok=True)


class DatabaseFile(IncomingFile):
    """A file as 1 MB chunk rows, written on a connection of its own.

    The rows commit together when the part ends, so a request cut off half way
    leaves nothing; the owning upload is set in `keep`.
    """

    def __init__(self, limit: int, too_large: Callable[[], Exception]) -> None:
        super().__init__(limit, too_large)
        self.conn = db.engine.connect()
        self.file_id: int = self.conn.execute(
            insert(UploadFile.__table__)
            .values(size_bytes=0, created_at=utcnow())
            .returning(UploadFile.__table__.c.id)
        ).scalar_one()
        self.buffer = bytearray()
        self.seq = 0

    @property
    def ref(self) -> str:
        return f"{DB_PREFIX}{self.file_id}"

    def _store(self, block: bytes) -> None:
        self.buffer += block
        while len(self.buffer) >= CHUNK_BYTES:
            self._flush(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]

    def _flush(self, data: bytes) -> None:
        self.conn.execute(
            insert(UploadFileChunk.__table__).values(
                file_id=self.file_id, seq=self.seq, data=data
            )
        )
        self.seq += 1

    def _close_store(self) -> None:
        try:
            if self.buffer:
                self._flush(bytes(self.buffer))
                self.buffer.clear()
            self.conn.execute(
                update(UploadFile.__table__)
                .where(UploadFile.__table__.c.id == self.file_id)
                .values(size_bytes=self.size, created_at=utcnow())
            )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            self.file_id = 0
            raise
        finally:
            self.conn.close()

    def _attach(self, upload_id: int) -> None:
        db.session.execute(
            update(UploadFile.__table__)
            .where(UploadFile.__table__.c.id == self.file_id)
            .values(upload_id=upload_id)
        )

    def _remove(self) -> None:
        if self.file_id:
            remove(self.ref)


def receiver(limit: int, too_large: Callable[[], Exception]) -> IncomingFile:
    """A new IncomingFile in the configured store; `too_large()` is raised past
    `limit` bytes."""
    if storage() is Storage.DATABASE:
        return DatabaseFile(limit, too_large)
    return DiskFile(Path(current_app.config["ECM_UPLOAD_DIR"]), limit, too_large)


def factory(
    limit: int, too_large: Callable[[], Exception]
) -> Callable[..., IncomingFile]:
    """A werkzeug `stream_factory` making one IncomingFile per file part."""

    def make(*_args: Any, **_kwargs: Any) -> IncomingFile:
        return receiver(limit, too_large)

    return make


# ---- reading back --------------------------------------------------------------------


class ChunkReader(io.RawIOBase):
    """A stored database file as a raw stream: one chunk row fetched at a time."""

    def __init__(self, file_id: int) -> None:
        self.file_id = file_id
        self.conn = db.engine.connect()
        self.seq = 0
        self.pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        if not self.pending:
            data = self.conn.execute(
                select(UploadFileChunk.data).where(
                    UploadFileChunk.file_id == self.file_id,
                    UploadFileChunk.seq == self.seq,
                )
            ).scalar()
            self.conn.rollback()  # no transaction left open between chunks
            if data is None:
                return 0
            self.seq += 1
            self.pending = memoryview(bytes(data))
        size = min(len(target), len(self.pending))
        target[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self.conn.close()
        super().close()


def open_file(ref: str) -> BinaryIO:
    """The stored file as a buffered binary stream (readline with a limit, read)."""
    if ref.startswith(DB_PREFIX):
        return io.BufferedReader(ChunkReader(int(ref[len(DB_PREFIX) :])), CHUNK_BYTES)
    return open(ref, "rb", buffering=CHUNK_BYTES)  # noqa: SIM115


def exists(ref: str) -> bool:
    if ref.startswith(DB_PREFIX):
        return (
            db.session.scalar(
                select(UploadFile.id).where(UploadFile.id == int(ref[len(DB_PREFIX) :]))
            )
            is not None
        )
    return Path(ref).exists()


def remove(ref: str) -> None:
    """Delete a stored file; a file already gone is fine."""
    if ref.startswith(DB_PREFIX):
        file_id = int(ref[len(DB_PREFIX) :])
        with db.engine.begin() as conn:  # its own transaction: the caller's may fail
            conn.execute(
                delete(UploadFileChunk.__table__).where(
                    UploadFileChunk.__table__.c.file_id == file_id
                )
            )
            conn.execute(
                delete(UploadFile.__table__).where(UploadFile.__table__.c.id == file_id)
            )
        return
    Path(ref).unlink(missing_ok=True)


def disk_files_of(upload_ids: list[int]) -> list[str]:
    """The disk files of these uploads, to remove once their rows are deleted (the
    database store's rows cascade with the Upload rows)."""
    return [
        ref
        for ref in db.session.scalars(
            select(Upload.stored_path).where(Upload.id.in_(upload_ids))
        )
        if ref and not ref.startswith(DB_PREFIX)
    ]


def purge_expired(now: datetime | None = None) -> int:
    """Remove the files kept past ECM_UPLOAD_RETENTION_HOURS by uploads that never
    finished (failed ones keep theirs for *Resume* until then), and the rows of
    requests that were cut off; returns how many files went."""
    now = now or utcnow()
    hours = int(current_app.config.get("ECM_UPLOAD_RETENTION_HOURS") or 0)
    removed = 0
    if hours > 0:
        cutoff = now - timedelta(hours=hours)
        expired = db.session.execute(
            select(Upload.id, Upload.stored_path).where(
                Upload.state == "failed",
                Upload.finished_at < cutoff,
                Upload.stored_path != "",
            )
        ).all()
        db.session.rollback()  # remove() writes on its own connection (SQLite)
        for _, ref in expired:
            remove(ref)
        for upload_id, _ in expired:
            db.session.execute(
                update(Upload).where(Upload.id == upload_id).values(stored_path="")
            )
        db.session.commit()
        removed = len(expired)
    orphans = db.session.scalars(
        select(UploadFile.id).where(
            UploadFile.upload_id.is_(None),
            UploadFile.created_at < now - ABANDONED_AFTER,
        )
    ).all()
    for file_id in orphans:
        remove(f"{DB_PREFIX}{file_id}")
    db.session.rollback()
    return removed + len(orphans)
