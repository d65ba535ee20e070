"""The do-not-call list, matched on each number's E.164 key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.models import DncEntry, User
from portal.services import audit, phones, suppression
from portal.services.errors import NotFound, ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import (
    MAX_TEXT,
    PhoneText,
    Schema,
    as_int,
    parse,
    phone_schema,
    strip_null,
)

MAX_SEARCH = 40  # characters of a DNC search
SOURCE_MAX = 64


class ConsentFields(Schema):
    """Beyond ECM (SPEC section 8): optional on every DNC entry, default list too."""

    expiresAt: datetime | None = Field(
        default=None,
        json_schema_extra=lambda s: s.update(
            anyOf=[suppression.INSTANT_SCHEMA, {"const": ""}, {"type": "null"}]
        ),
    )
    source: str | None = Field(default=None, max_length=SOURCE_MAX)
    reason: str | None = Field(default=None, max_length=MAX_TEXT)

    _expiry = field_validator("expiresAt", mode="before")(
        lambda cls, v: suppression.parse_instant(v)
    )


CONSENT_COLUMNS = {"expiresAt": "expires_at", "source": "source", "reason": "reason"}


def consent_values(body: ConsentFields) -> dict[str, Any]:
    """The consent fields the caller sent, by column."""
    return {
        column: getattr(body, name)
        for name, column in CONSENT_COLUMNS.items()
        if name in body.model_fields_set
    }


class DncIn(ConsentFields):
    name: str | None = Field(default=None, max_length=MAX_TEXT)
    primaryNumber: PhoneText = Field(json_schema_extra=phone_schema)


class DncUpdate(ConsentFields):
    model_config = ConfigDict(
        json_schema_extra=lambda s: strip_null(s, ("primaryNumber",))
    )
    id: int
    name: str | None = Field(default=None, max_length=MAX_TEXT)
    primaryNumber: PhoneText | None = Field(
        default=None, json_schema_extra=phone_schema
    )
    # accepted because the seed's update example echoes a whole entry back
    updateById: int | None = None
    dataCreated: str | None = None
    dateCreated: str | None = None
    lastUpdated: str | None = None

    @field_validator("primaryNumber")
    @classmethod
    def _not_null(cls, v: str | None) -> str | None:
        return v


def region() -> str:
    return current_app.config["ECM_DEFAULT_REGION"]


def normalise(raw: Any, field: str, region_code: str | None = None) -> tuple[str, str]:
    """Clean a number and compute its match key, or raise the seed's 406 naming field.

    Bulk imports pass `region_code` once per file instead of reading the config per row.
    """
    try:
        return phones.normalise(raw, region_code or region())
    except phones.InvalidNumber as exc:
        raise ValidationFailed({field: str(exc)}) from None


def validate_entry_fields(
    number: Any, name: Any, region_code: str | None = None
) -> tuple[str, str, str | None]:
    """(number, match key, name) of one DNC entry; one rule for API, portal and CSV."""
    cleaned, key = normalise(number, "primaryNumber", region_code)
    if name is None:
        return cleaned, key, None
    text = name if name.__class__ is str else str(name)
    if len(text) > MAX_TEXT:
        raise ValidationFailed({"name": f"is longer than {MAX_TEXT} characters"})
    return cleaned, key, text


def is_blocked(match_key: str) -> bool:
    return (
        db.session.scalar(select(DncEntry.id).where(DncEntry.match_key == match_key))
        is not None
    )


def blocked_keys(keys: Iterable[str]) -> set[str]:
    """Which of these match keys are on the DNC list (bulk imports ask per 5,000)."""
    return set(matching_keys(DncEntry.match_key, keys))


def key_condition(column: Any, keys: list[str], dialect: str) -> Any:
    """`column IN keys`, as one array parameter on PostgreSQL (thousands of keys)."""
    if dialect == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import String

        return column == any_(bindparam(None, keys, type_=ARRAY(String)))
    return column.in_(keys)


def matching_keys(column: Any, keys: Iterable[str], *conditions: Any) -> list[str]:
    """Values of `column` among match `keys` (no commas in them), 5,000 keys a query.

    On PostgreSQL each key is one index probe (a LATERAL lookup): with thousands of
    keys in an IN list the planner would rather scan a million-row table.
    """
    keys = list(set(keys))
    postgres = db.session.get_bind().dialect.name == "postgresql"
    found: list[str] = []
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        if postgres:
            query = _probe_each(column, chunk, conditions)
        else:
            query = select(column).where(column.in_(chunk), *conditions)
        found.extend(db.session.scalars(query))
    return found


def _probe_each(column: Any, keys: list[str], conditions: tuple) -> Any:
    """One text parameter split server-side: binding 5,000 array items costs more."""
    from sqlalchemy import bindparam, true

    wanted = (
        func.unnest(func.string_to_array(bindparam(None, ",".join(keys)), ","))
        .table_valued("key")
        .render_derived(name="wanted")
    )
    hit = (
        select(column.label("hit"))
        .where(column == wanted.c.key, *conditions)
        .limit(1)
        .lateral("probe")
    )
    return select(hit.c.hit).select_from(wanted.join(hit, true()))


def search_condition(search: str, name: Any, *number_columns: Any) -> Any:
    """What a DNC search box matches: the name (case-insensitive), or the digits
    typed inside any of the number columns. autoescape: a % or _ typed in the box
    is a character, not a wildcard."""
    text = search.replace("\x00", "").strip()[:MAX_SEARCH]
    digits = "".join(ch for ch in text if ch.isdigit())
    conds = [func.lower(name).contains(text.lower(), autoescape=True)]
    if digits:
        conds += [column.contains(digits, autoescape=True) for column in number_columns]
    return or_(*conds)


def list_entries(
    actor: User,
    search: str | None = None,
    after_id: int | None = None,
    offset: int | None = None,
    limit: int = 50,
) -> tuple[list[DncEntry], int | None]:
    """Entries by id, keyset-paged (after_id) or offset-paged (with a total)."""
    require(actor, READERS)
    query = select(DncEntry).order_by(DncEntry.id)
    count = select(func.count()).select_from(DncEntry)
    if search:
        found = search_condition(
            search, DncEntry.name, DncEntry.match_key, DncEntry.primary_number
        )
        query = query.where(found)
        count = count.where(found)
    if after_id:
        query = query.where(DncEntry.id > after_id)
    if offset:
        query = query.offset(offset)
    total = db.session.scalar(count) if after_id is None else None
    return list(db.session.scalars(query.limit(limit))), total


def get_entry(actor: User, entry_id: Any) -> DncEntry:
    require(actor, READERS)
    eid = as_int(entry_id, "id")
    entry = db.session.get(DncEntry, eid)
    if entry is None:
        raise NotFound(f"DNC entry with id {eid} not found")
    return entry


def _check_unique(match_key: str, exclude: int | None = None) -> None:
    query = select(DncEntry.id).where(DncEntry.match_key == match_key)
    if exclude is not None:
        query = query.where(DncEntry.id != exclude)
    if db.session.scalar(query) is not None:
        raise ValidationFailed({"primaryNumber": "is already on the DNC list"})


def add_entry(actor: User, data: dict) -> DncEntry:
    require(actor, WRITERS)
    body = parse(DncIn, data, aliases={"number": "primaryNumber"})
    number, key, name = validate_entry_fields(body.primaryNumber, body.name)
    _check_unique(key)
    consent = consent_values(body)
    entry = DncEntry(
        name=name,
        primary_number=number,
        match_key=key,
        update_by_id=actor.id,
        **consent,
    )
    db.session.add(entry)
    db.session.flush()
    if entry.expires_at is None:  # a temporary entry holds contacts, never closes them
        block_open_contacts([key])
    audit.record(
        actor,
        "create",
        "dnc",
        entry.id,
        {"primaryNumber": number, "name": body.name, **consent},
    )
    db.session.commit()
    return entry


def update_entry(actor: User, data: dict) -> DncEntry:
    require(actor, WRITERS)
    body = parse(DncUpdate, data)
    entry = get_entry(actor, body.id)
    values: dict[str, Any] = {}
    if "name" in body.model_fields_set:
        values["name"] = body.name
    if body.primaryNumber is not None:
        number, key = normalise(body.primaryNumber, "primaryNumber")
        _check_unique(key, exclude=entry.id)
        values.update(primary_number=number, match_key=key)
    elif "primaryNumber" in body.model_fields_set:
        raise ValidationFailed({"primaryNumber": "may not be null"})
    values.update(consent_values(body))
    values["update_by_id"] = actor.id
    changes = audit.diff(entry, values)
    changes.pop("update_by_id", None)
    if entry.expires_at is None and {"match_key", "expires_at"} & set(changes):
        block_open_contacts([entry.match_key])
    if changes:
        audit.record(actor, "update", "dnc", entry.id, changes)
    db.session.commit()
    return entry


def delete_entry(actor: User, entry_id: Any) -> None:
    require(actor, WRITERS)
    entry = get_entry(actor, entry_id)
    audit.record(
        actor, "delete", "dnc", entry.id, {"primaryNumber": entry.primary_number}
    )
    db.session.delete(entry)
    db.session.commit()


def block_open_contacts(keys: list[str], connection: Any = None) -> int:
    """Close pending contacts whose phone1 just went on the DNC list (state 5, code 26).

    Bulk imports pass their own `connection` so this runs in the chunk's transaction.
    """
    from portal.models import Contact, utcnow
    from portal.services.enums import BLOCKED_DNC, PENDING, RESULT_ON_DNC

    if not keys:
        return 0
    executor = connection or db.session
    dialect = (connection or db.session.get_bind()).dialect.name
    result = executor.execute(
        Contact.__table__.update()
        .where(
            key_condition(Contact.match_key, list(keys), dialect),
            Contact.request_state == PENDING,
        )
        .values(
            request_state=BLOCKED_DNC,
            call_result=RESULT_ON_DNC,
            last_status_update_time=utcnow(),
        )
    )
    return result.rowcount or 0
