"""Named DNC lists beside the ECM default one: global or a campaign's, by channel.

The default ECM list stays in `dnc` (every /umm/ecm/contact endpoint as before); the
lists here are checked beside it by `suppression`. An entry blocks until `expiresAt`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.models import Campaign, DncList, DncListEntry, User, utcnow
from portal.services import audit, dnc, suppression
from portal.services.errors import NotFound, ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.suppression import ListChannel
from portal.services.validation import (
    MAX_TEXT,
    PhoneText,
    Schema,
    as_int,
    parse,
    phone_schema,
    strip_null,
)

UPLOAD_CHUNK = 5000
MAX_UPLOAD_ERRORS = 1000


class DncListIn(Schema):
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    description: str | None = Field(default=None, max_length=4000)
    campaignId: int | None = None
    channel: ListChannel = ListChannel.BOTH


class DncListUpdate(Schema):
    model_config = ConfigDict(
        json_schema_extra=lambda s: strip_null(s, ("name", "channel"))
    )
    id: int
    name: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: str | None = Field(default=None, max_length=4000)
    campaignId: int | None = None
    channel: ListChannel | None = None


class ListEntryIn(dnc.ConsentFields):
    name: str | None = Field(default=None, max_length=MAX_TEXT)
    primaryNumber: PhoneText = Field(json_schema_extra=phone_schema)


class ListEntryUpdate(dnc.ConsentFields):
    model_config = ConfigDict(
        json_schema_extra=lambda s: strip_null(s, ("primaryNumber",))
    )
    id: int
    name: str | None = Field(default=None, max_length=MAX_TEXT)
    primaryNumber: PhoneText | None = Field(
        default=None, json_schema_extra=phone_schema
    )

    @field_validator("primaryNumber")
    @classmethod
    def _not_null(cls, v: str | None) -> str | None:
        return v


LIST_COLUMNS = {
    "name": "name",
    "description": "description",
    "campaignId": "campaign_id",
    "channel": "channel",
}


def _list_values(body: Schema) -> dict[str, Any]:
    values = {
        LIST_COLUMNS[k]: getattr(body, k)
        for k in body.model_fields_set
        if k in LIST_COLUMNS
    }
    if values.get("channel") is not None:
        values["channel"] = ListChannel(values["channel"]).value
    return values


def _check_list(values: dict[str, Any], exclude: int | None = None) -> None:
    errors = {}
    cid = values.get("campaign_id")
    if cid is not None and db.session.get(Campaign, cid) is None:
        errors["campaignId"] = f"campaign {cid} does not exist"
    if "name" in values:
        if values["name"] is None:
            errors["name"] = "may not be null"
        else:
            query = select(DncList.id).where(
                func.lower(DncList.name) == values["name"].lower()
            )
            if exclude is not None:
                query = query.where(DncList.id != exclude)
            if db.session.scalar(query) is not None:
                errors["name"] = "is already used by another list"
    if "channel" in values and values["channel"] is None:
        errors["channel"] = "may not be null"
    if errors:
        raise ValidationFailed(errors)


def list_lists(actor: User) -> list[DncList]:
    require(actor, READERS)
    return list(db.session.scalars(select(DncList).order_by(DncList.id)))


def entry_counts() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(DncListEntry.list_id, func.count()).group_by(DncListEntry.list_id)
        ).all()
    )


def get_list(actor: User, list_id: Any) -> DncList:
    require(actor, READERS)
    lid = as_int(list_id, "id")
    found = db.session.get(DncList, lid)
    if found is None:
        raise NotFound(f"DNC list with id {lid} not found")
    return found


def create_list(actor: User, data: dict) -> DncList:
    require(actor, WRITERS)
    body = parse(DncListIn, data)
    values = _list_values(body)
    values.setdefault("channel", ListChannel.BOTH.value)
    _check_list(values)
    item = DncList(**values, created_by=actor.id)
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "create", "dnc_list", item.id, values)
    db.session.commit()
    return item


def update_list(actor: User, data: dict) -> DncList:
    require(actor, WRITERS)
    body = parse(DncListUpdate, data)
    item = get_list(actor, body.id)
    values = _list_values(body)
    _check_list(values, exclude=item.id)
    changes = audit.diff(item, values)
    if changes:
        audit.record(actor, "update", "dnc_list", item.id, changes)
    db.session.commit()
    return item


def delete_list(actor: User, list_id: Any) -> None:
    require(actor, WRITERS)
    item = get_list(actor, list_id)
    db.session.execute(
        DncListEntry.__table__.delete().where(DncListEntry.list_id == item.id)
    )
    audit.record(actor, "delete", "dnc_list", item.id, {"name": item.name})
    db.session.delete(item)
    db.session.commit()


# -- entries ---------------------------------------------------------------------------


def list_entries(
    actor: User,
    list_id: Any,
    search: str | None = None,
    after_id: int | None = None,
    offset: int | None = None,
    limit: int = 50,
) -> tuple[list[DncListEntry], int | None]:
    """A list's entries by id, searched by number or name; keyset or offset paged."""
    item = get_list(actor, list_id)
    query = select(DncListEntry).where(DncListEntry.list_id == item.id)
    if search:
        query = query.where(
            dnc.search_condition(search, DncListEntry.name, DncListEntry.match_key)
        )
    total = None
    if after_id is None:
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(DncListEntry.id)
    if after_id:
        query = query.where(DncListEntry.id > after_id)
    if offset:
        query = query.offset(offset)
    return list(db.session.scalars(query.limit(limit))), total


def get_entry(actor: User, entry_id: Any) -> DncListEntry:
    require(actor, READERS)
    eid = as_int(entry_id, "id")
    entry = db.session.get(DncListEntry, eid)
    if entry is None:
        raise NotFound(f"DNC list entry with id {eid} not found")
    return entry


def _check_unique(list_id: int, key: str, exclude: int | None = None) -> None:
    query = select(DncListEntry.id).where(
        DncListEntry.list_id == list_id, DncListEntry.match_key == key
    )
    if exclude is not None:
        query = query.where(DncListEntry.id != exclude)
    if db.session.scalar(query) is not None:
        raise ValidationFailed({"primaryNumber": "is already on this list"})


def add_entry(actor: User, list_id: Any, data: dict) -> DncListEntry:
    require(actor, WRITERS)
    item = get_list(actor, list_id)
    body = parse(ListEntryIn, data, aliases={"number": "primaryNumber"})
    number, key, name = dnc.validate_entry_fields(body.primaryNumber, body.name)
    _check_unique(item.id, key)
    consent = dnc.consent_values(body)
    entry = DncListEntry(
        list_id=item.id,
        name=name,
        primary_number=number,
        match_key=key,
        update_by_id=actor.id,
        **consent,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        actor,
        "create",
        "dnc_list_entry",
        entry.id,
        {"list": item.name, "primaryNumber": number, **consent},
    )
    db.session.commit()
    return entry


def update_entry(actor: User, data: dict) -> DncListEntry:
    require(actor, WRITERS)
    body = parse(ListEntryUpdate, data)
    entry = get_entry(actor, body.id)
    values: dict[str, Any] = dnc.consent_values(body)
    if "name" in body.model_fields_set:
        values["name"] = body.name
    if body.primaryNumber is not None:
        number, key = dnc.normalise(body.primaryNumber, "primaryNumber")
        _check_unique(entry.list_id, key, exclude=entry.id)
        values.update(primary_number=number, match_key=key)
    elif "primaryNumber" in body.model_fields_set:
        raise ValidationFailed({"primaryNumber": "may not be null"})
    changes = audit.diff(entry, values)
    if changes:
        audit.record(actor, "update", "dnc_list_entry", entry.id, changes)
    db.session.commit()
    return entry


def delete_entry(actor: User, entry_id: Any) -> None:
    require(actor, WRITERS)
    entry = get_entry(actor, entry_id)
    audit.record(
        actor,
        "delete",
        "dnc_list_entry",
        entry.id,
        {"primaryNumber": entry.primary_number},
    )
    db.session.delete(entry)
    db.session.commit()


# -- bulk upload: number,name,expiresAt,reason,source by position ----------------------


SCAN_BLOCK = 1 << 20


def _refuse_unreadable_file(stream: IO[bytes]) -> None:
    """Refuse the whole file before a row is stored if it is empty or has a NUL byte
    (no CSV text file has one: binary, or UTF-16), so a refused file adds nothing,
    even though the rows are committed in chunks."""
    start, line = stream.tell(), 1
    if not stream.read(1):
        raise ValidationFailed({"file": "is empty"}, "Empty file")
    stream.seek(start)
    while block := stream.read(SCAN_BLOCK):
        at = block.find(b"\x00")
        if at >= 0:
            line += block.count(b"\n", 0, at)
            raise ValidationFailed(
                {
                    "file": f"line {line} contains a NUL byte, so it is not a CSV "
                    "text file (binary, or UTF-16): save it as CSV UTF-8"
                },
                "Not a CSV file",
            )
        line += block.count(b"\n")
    stream.seek(start)


def _rows(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """Decoded CSV rows with their line numbers, streamed (a BOM and `;` are fine)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(
        (line for part in ([first], text) for line in part), delimiter=delimiter
    )
    for line, row in enumerate(reader, start=1):
        if row and any(cell.strip() for cell in row):
            yield line, row


def _entry_row(row: list[str], region_code: str) -> dict[str, Any]:
    cells = [c.strip() or None for c in row] + [None] * 5
    number, key, name = dnc.validate_entry_fields(cells[0], cells[1], region_code)
    try:
        expires = suppression.parse_instant(cells[2])
    except ValueError as exc:
        raise ValidationFailed({"expiresAt": str(exc)}) from None
    reason, source = cells[3], cells[4]
    if reason and len(reason) > MAX_TEXT or source and len(source) > dnc.SOURCE_MAX:
        raise ValidationFailed({"reason": "reason or source is too long"})
    return {
        "name": name,
        "primary_number": number,
        "match_key": key,
        "expires_at": expires,
        "reason": reason,
        "source": source or "upload",
    }


def upload_entries(
    actor: User, list_id: Any, stream: IO[bytes] | None
) -> dict[str, Any]:
    """Add a CSV of numbers to a list in chunks; a number already there is updated."""
    require(actor, WRITERS)
    item = get_list(actor, list_id)
    if stream is None:
        raise ValidationFailed({"file": "is required"})
    _refuse_unreadable_file(stream)
    region_code = dnc.region()
    counts: dict[str, Any] = {"added": 0, "updated": 0, "rejected": 0, "errors": []}
    batch: dict[str, dict[str, Any]] = {}
    for line, row in _rows(stream):
        try:
            values = _entry_row(row, region_code)
        except ValidationFailed as exc:
            if line == 1 and not any(ch.isdigit() for ch in row[0]):
                continue  # a header row
            counts["rejected"] += 1
            if len(counts["errors"]) < MAX_UPLOAD_ERRORS:
                reason = "; ".join(f"{k} {v}" for k, v in exc.fields.items())
                counts["errors"].append({"line": line, "reason": reason})
            continue
        batch[values["match_key"]] = values
        if len(batch) >= UPLOAD_CHUNK:
            _store_chunk(item, batch, actor, counts)
            batch = {}
    _store_chunk(item, batch, actor, counts)
    audit.record(
        actor,
        "upload",
        "dnc_list",
        item.id,
        {k: v for k, v in counts.items() if k != "errors"},
    )
    db.session.commit()
    return counts


def _store_chunk(
    item: DncList, batch: dict[str, dict[str, Any]], actor: User, counts: dict
) -> None:
    if not batch:
        return
    existing = {
        e.match_key: e
        for e in db.session.scalars(
            select(DncListEntry).where(
                DncListEntry.list_id == item.id,
                DncListEntry.match_key.in_(list(batch)),
            )
        )
    }
    now = utcnow()
    for key, values in batch.items():
        entry = existing.get(key)
        if entry is None:
            db.session.add(
                DncListEntry(list_id=item.id, update_by_id=actor.id, **values)
            )
            counts["added"] += 1
        else:
            for column, value in values.items():
                setattr(entry, column, value)
            entry.last_updated = now
            counts["updated"] += 1
    db.session.commit()


def applicable_lists(campaign_id: int | None) -> list[DncList]:
    """The global lists and the campaign's own, for the campaign page."""
    query = select(DncList).where(DncList.campaign_id.is_(None))
    if campaign_id is not None:
        query = select(DncList).where(
            or_(DncList.campaign_id.is_(None), DncList.campaign_id == campaign_id)
        )
    return list(db.session.scalars(query.order_by(DncList.id)))


def is_active(entry: Any, now: datetime | None = None) -> bool:
    """An entry blocks until its expiry (the Jinja templates show this)."""
    return entry.expires_at is None or entry.expires_at > (now or utcnow())
