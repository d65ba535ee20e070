"""Erasure: forget one phone number across the product (a data subject's request).

Contacts holding the number (any phone field or the number dialed), with their attempts,
inbox results and ruled-out numbers; DNC entries on every list, opt-outs and lockouts;
rejected-row reports; the stored upload files; the file dialer's batch and result files
(the product's exports to the dialer; CSV exports are generated from the tables on
request, so they hold nothing once the tables do not); and the number inside earlier
audit rows. The audit log then records that an erasure happened, with counts and never
the number. With `keepSuppressed` (ECM_ERASURE_KEEP_HASH by default) the match key is
kept only as a keyed hash so the number is not uploaded and dialed again.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from flask import current_app
from pydantic import Field
from sqlalchemy import Text, cast, delete, or_, select

from portal.extensions import db
from portal.models import (
    PHONES,
    AuditLog,
    CallResultInbox,
    Contact,
    ContactAttempt,
    ContactNumberBlock,
    DncEntry,
    DncListEntry,
    ErasedNumber,
    NumberLockout,
    OptOut,
    PreferenceSettings,
    Upload,
    UploadError,
    UploadFile,
    UploadFileChunk,
    User,
)
from portal.services import audit, dnc, suppression
from portal.services.roles import ADMIN, require
from portal.services.uploads.storage import DB_PREFIX
from portal.services.validation import PhoneText, Schema, parse, phone_schema

ERASED = "[erased]"
NAMES = {
    ContactAttempt: "attempts",
    CallResultInbox: "inboxResults",
    ContactNumberBlock: "ruledOutNumbers",
}
ID_CHUNK = 1000


class EraseIn(Schema):
    number: PhoneText = Field(max_length=64, json_schema_extra=phone_schema)
    keepSuppressed: bool | None = Field(default=None, strict=True)  # true/false only


@dataclass
class Target:
    """The number to forget: its match key and the digits every stored form contains."""

    key: str
    needle: str
    region: str

    @property
    def probe(self) -> str:
        """What free text holding the number contains however it was formatted: its
        last four digits ("(212) 555-0142" does not contain "2125550142")."""
        return self.needle[-4:]

    def matches(self, value: Any) -> bool:
        """Whether a stored value (a number as some caller wrote it) is this number."""
        if not value:
            return False
        text = str(value).strip()
        if self.needle not in "".join(ch for ch in text if ch.isdigit()):
            return False
        return suppression.match_key(text, self.region) == self.key


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n or 0)


def target_for(raw: Any) -> Target:
    number, key = dnc.normalise(raw, "number")
    region = dnc.region()
    try:
        parsed = phonenumbers.parse(number, region)
        needle = str(parsed.national_number)
    except phonenumbers.NumberParseException:
        needle = "".join(ch for ch in key if ch.isdigit())
    return Target(key=key, needle=needle, region=region)


def erase_number(actor: User | None, data: Any, *, system: bool = False) -> dict:
    """Forget the number everywhere; returns what was removed, by kind (no number)."""
    if not system:
        require(actor, ADMIN)
    body = parse(EraseIn, data, aliases={"primaryNumber": "number"})
    target = target_for(body.number)
    keep = body.keepSuppressed
    if keep is None:
        keep = bool(current_app.config.get("ECM_ERASURE_KEEP_HASH", True))
    report = Report()
    _erase_contacts(target, report)
    _erase_lists(target, report)
    _erase_upload_errors(target, report)
    _scrub_audit(target, report)
    if keep:
        digest = suppression.key_hash(target.key)
        if db.session.get(ErasedNumber, digest) is None:
            db.session.add(ErasedNumber(key_hash=digest))
    report.add("keptSuppressed", 1 if keep else 0)
    db.session.commit()
    _scrub_files(target, report)
    audit.record(
        actor, "erase", "privacy", None, report.counts, summary="A number was erased"
    )
    db.session.commit()
    return report.counts


def _like_any(columns: list[Any], needle: str) -> Any:
    return or_(*(c.contains(needle, autoescape=True) for c in columns))


def _erase_contacts(target: Target, report: Report) -> None:
    columns = [getattr(Contact, p) for p in PHONES] + [
        Contact.number_to_call,
        Contact.match_key,
    ]
    ids = []
    for row in db.session.execute(
        select(Contact.id, *columns).where(_like_any(columns, target.needle))
    ):
        if any(target.matches(v) for v in row[1:]):
            ids.append(row.id)
    for start in range(0, len(ids), ID_CHUNK):
        part = ids[start : start + ID_CHUNK]
        for model in (ContactAttempt, CallResultInbox, ContactNumberBlock):
            report.add(
                NAMES[model],
                db.session.execute(
                    delete(model).where(model.contact_id.in_(part))
                ).rowcount,
            )
        db.session.execute(delete(Contact).where(Contact.id.in_(part)))
    report.add("contacts", len(ids))
    stray = [  # attempts on another contact's record that dialed this number
        row.id
        for row in db.session.execute(
            select(ContactAttempt.id, ContactAttempt.number).where(
                ContactAttempt.number.contains(target.needle, autoescape=True)
            )
        )
        if target.matches(row.number)
    ]
    if stray:
        db.session.execute(delete(ContactAttempt).where(ContactAttempt.id.in_(stray)))
    report.add("attempts", len(stray))


def _erase_lists(target: Target, report: Report) -> None:
    for model, name in (
        (DncEntry, "dncEntries"),
        (DncListEntry, "dncListEntries"),
        (OptOut, "optOuts"),
        (NumberLockout, "lockouts"),
        (ContactNumberBlock, "ruledOutNumbers"),
    ):
        report.add(
            name,
            db.session.execute(
                delete(model).where(model.match_key == target.key)
            ).rowcount,
        )


def _erase_upload_errors(target: Target, report: Report) -> None:
    ids = [
        row.id
        for row in db.session.execute(
            select(UploadError.id, UploadError.raw, UploadError.reason).where(
                _like_any([UploadError.raw, UploadError.reason], target.probe)
            )
        )
        if _line_matches(row.raw, target) or _line_matches(row.reason, target)
    ]
    if ids:
        db.session.execute(delete(UploadError).where(UploadError.id.in_(ids)))
    report.add("rejectedRows", len(ids))


def _cells(text: str) -> list[str]:
    delimiter = ";" if text.count(";") > text.count(",") else ","
    try:
        row = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        row = []
    words = text.replace(",", " ").replace(";", " ").split()
    return row + words


def _line_matches(text: str | None, target: Target) -> bool:
    return bool(text) and any(target.matches(cell) for cell in _cells(text))


def _scrub(value: Any, target: Target) -> tuple[Any, bool]:
    """The value with every string holding the number replaced by [erased]."""
    if isinstance(value, str):
        return (ERASED, True) if _line_matches(value, target) else (value, False)
    if isinstance(value, list):
        items = [_scrub(v, target) for v in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    if isinstance(value, dict):
        items = {k: _scrub(v, target) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(
            hit for _, hit in items.values()
        )
    if isinstance(value, int) and target.matches(str(value)):
        return ERASED, True
    return value, False


def _scrub_audit(target: Target, report: Report) -> None:
    """Earlier audit rows keep who did what and when, not the number."""
    scrubbed = 0
    candidates = select(AuditLog).where(
        _like_any(
            [cast(AuditLog.changes, Text), AuditLog.summary, AuditLog.entity_id],
            target.probe,
        )
    )
    for row in db.session.scalars(candidates.order_by(AuditLog.id)):
        changes, hit_changes = _scrub(row.changes, target)
        summary, hit_summary = _scrub(row.summary, target)
        entity_id, hit_id = _scrub(row.entity_id, target)
        if hit_changes or hit_summary or hit_id:
            row.changes, row.summary, row.entity_id = changes, summary, entity_id
            scrubbed += 1
    report.add("auditRowsScrubbed", scrubbed)


# -- files -----------------------------------------------------------------------------


def stored_files() -> Iterator[tuple[Path, bool]]:
    """Every file that may hold numbers: (path, keep byte offsets).

    Upload files keep their length (an import resumes at a byte offset), so a matching
    number is blanked; the dialer's batch and result files lose the whole row.
    """
    seen: set[Path] = set()
    for (path,) in db.session.execute(select(Upload.stored_path)):
        if path and not path.startswith(DB_PREFIX) and Path(path).is_file():
            seen.add(Path(path))
            yield Path(path), True
    prefs = db.session.scalars(select(PreferenceSettings)).first()
    folders = [
        getattr(prefs, "file_path", None),
        getattr(prefs, "file_archive_path", None),
    ]
    for folder in filter(None, folders):
        for root, _, names in os.walk(folder):
            for name in names:
                path = Path(root) / name
                if path not in seen:
                    seen.add(path)
                    yield path, False


def _scrub_stored_in_database(target: Target, report: Report) -> None:
    """Uploads kept as chunk rows: blanked like a file, each chunk keeps its length."""
    needle = target.probe.encode()
    for file_id in db.session.scalars(select(UploadFile.id).order_by(UploadFile.id)):
        chunks = list(
            db.session.execute(
                select(UploadFileChunk.seq, UploadFileChunk.data)
                .where(UploadFileChunk.file_id == file_id)
                .order_by(UploadFileChunk.seq)
            )
        )
        whole = b"".join(bytes(data) for _, data in chunks)
        if needle not in whole:
            continue
        fixed = _blank_lines(whole, target, needle)
        if fixed == whole:
            continue
        offset = 0
        for seq, data in chunks:
            part = fixed[offset : offset + len(data)]
            if part != bytes(data):
                db.session.execute(
                    UploadFileChunk.__table__.update()
                    .where(
                        UploadFileChunk.file_id == file_id, UploadFileChunk.seq == seq
                    )
                    .values(data=part)
                )
            offset += len(data)
        report.add("filesScrubbed", 1)
    db.session.commit()


def _blank_lines(content: bytes, target: Target, needle: bytes) -> bytes:
    """Each matching number in these bytes overwritten with spaces of its length."""
    lines = content.splitlines(keepends=True)
    out = []
    for line in lines:
        if needle in line:
            text = line.decode("utf-8", errors="replace")
            for cell in set(_cells(text)):
                if target.matches(cell):
                    raw = cell.encode()
                    line = line.replace(raw, b" " * len(raw))
        out.append(line)
    return b"".join(out)


def _scrub_files(target: Target, report: Report) -> None:
    _scrub_stored_in_database(target, report)
    needle = target.probe.encode()
    for path, keep_offsets in stored_files():
        try:
            if keep_offsets:
                changed = _blank_in_place(path, target, needle)
            else:
                changed = _drop_rows(path, target, needle)
        except OSError as exc:
            current_app.logger.warning("erasure: cannot scrub a file: %s", exc)
            report.add("filesFailed", 1)
            continue
        report.add("filesScrubbed", 1 if changed else 0)


def _blank_in_place(path: Path, target: Target, needle: bytes) -> bool:
    """Overwrite each matching number with spaces of the same byte length."""
    changed = False
    with open(path, "r+b") as handle:
        offset = 0
        for line in iter(handle.readline, b""):
            start, offset = offset, offset + len(line)
            if needle not in line:
                continue
            text = line.decode("utf-8", errors="replace")
            fixed = line
            for cell in set(_cells(text)):
                if target.matches(cell):
                    raw = cell.encode()
                    fixed = fixed.replace(raw, b" " * len(raw))
            if fixed != line:
                handle.seek(start)
                handle.write(fixed)
                handle.seek(offset)
                changed = True
    return changed


def _drop_rows(path: Path, target: Target, needle: bytes) -> bool:
    """Rewrite the file without the rows that hold the number (atomically)."""
    with open(path, "rb") as handle:
        lines = handle.readlines()
    keep = [
        line
        for line in lines
        if needle not in line
        or not _line_matches(line.decode("utf-8", errors="replace"), target)
    ]
    if len(keep) == len(lines):
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".erase-")
    with os.fdopen(fd, "wb") as out:
        out.writelines(keep)
    os.replace(tmp, path)
    return True
