"""Results that suppress: what a call result does beyond the strategy's retry map.

Each result code may close the contact, rule the dialed number out for this contact
(the feed then dials the contact's next phone), or put the number on a DNC list.
The defaults are named in docs/feed.md; a row in `result_effects` overrides one
(`none` switches a default off). Abandoned calls also lock the number out for
ECM_ABANDON_LOCKOUT_HOURS (Ofcom's 72 hours) whatever the mapping says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from pydantic import Field, field_validator
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Contact,
    ContactNumberBlock,
    DncEntry,
    DncList,
    DncListEntry,
    NumberLockout,
    ResultEffect,
    User,
)
from portal.services import audit, dnc, suppression
from portal.services.enums import (
    BLOCKED_DNC,
    CALL_RESULTS,
    COMPLETED,
    PENDING,
    call_result_name,
    result_codes,
)
from portal.services.errors import ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import Schema, as_int, parse


class Effect(StrEnum):
    NONE = "none"
    CLOSE = "close"
    SKIP_NUMBER = "skip_number"
    ADD_TO_LIST = "add_to_list"


EFFECT_LABELS = {
    Effect.NONE: "Nothing beyond the retry map",
    Effect.CLOSE: "Close the contact",
    Effect.SKIP_NUMBER: "Rule the number out for this contact (try the next phone)",
    Effect.ADD_TO_LIST: "Add the number to a DNC list",
}

# Cisco codes (SPEC section 3) a call centre treats as proof about the number
DEFAULT_EFFECTS: dict[int, Effect] = {
    3: Effect.SKIP_NUMBER,  # number not in service
    7: Effect.SKIP_NUMBER,  # invalid number
    11: Effect.SKIP_NUMBER,  # fax
    19: Effect.CLOSE,  # agent rejected and closed
    23: Effect.SKIP_NUMBER,  # wrong number
    24: Effect.SKIP_NUMBER,  # wrong person
    26: Effect.ADD_TO_LIST,  # the dialer's own DNC: keep it on ours too
}
PHONE_FIELDS = tuple(f"phone{i}" for i in range(1, 6))
UPSERT_CHUNK = 500  # rows per multi-row insert (SQLite allows 32,766 parameters)
# abandoned by the dialer / to IVR: the calls the regulators count as abandoned
ABANDONED_CODES = frozenset({16, 20})


@dataclass(frozen=True)
class Mapping:
    code: int
    effect: Effect
    list_id: int | None = None
    default: bool = True


class EffectIn(Schema):
    callResult: int = Field(json_schema_extra={"enum": result_codes()})
    effect: Effect
    listId: int | None = None

    @field_validator("callResult")
    @classmethod
    def _known(cls, v: int) -> int:
        if v not in CALL_RESULTS or v == 0:
            raise ValueError("is not a known call result code")
        return v


def mappings() -> dict[int, Mapping]:
    """The effective mapping: the defaults overlaid by the stored rows."""
    found = {code: Mapping(code, effect) for code, effect in DEFAULT_EFFECTS.items()}
    for row in db.session.scalars(select(ResultEffect)):
        found[row.call_result] = Mapping(
            row.call_result, Effect(row.effect), row.list_id, default=False
        )
    return {k: v for k, v in found.items() if v.effect != Effect.NONE}


def list_mappings(actor: User) -> list[dict[str, Any]]:
    require(actor, READERS)
    stored = {r.call_result: r for r in db.session.scalars(select(ResultEffect))}
    rows = []
    for code in sorted(set(DEFAULT_EFFECTS) | set(stored)):
        row = stored.get(code)
        effect = Effect(row.effect) if row else DEFAULT_EFFECTS[code]
        rows.append(
            {
                "callResult": code,
                "name": call_result_name(code),
                "effect": effect.value,
                "label": EFFECT_LABELS[effect],
                "listId": row.list_id if row else None,
                "default": row is None,
            }
        )
    return rows


def set_mapping(actor: User, data: Any) -> ResultEffect:
    """Store one code's effect (`none` switches a default off)."""
    require(actor, WRITERS)
    body = parse(EffectIn, data)
    if body.listId is not None and db.session.get(DncList, body.listId) is None:
        raise ValidationFailed({"listId": f"DNC list {body.listId} does not exist"})
    if body.listId is not None and body.effect != Effect.ADD_TO_LIST:
        raise ValidationFailed({"listId": "is only used by add_to_list"})
    row = db.session.get(ResultEffect, body.callResult)
    if row is None:
        row = ResultEffect(call_result=body.callResult)
        db.session.add(row)
    changes = audit.diff(
        row, {"effect": Effect(body.effect).value, "list_id": body.listId}
    )
    audit.record(actor, "update", "result_effect", body.callResult, changes)
    db.session.commit()
    return row


def reset_mapping(actor: User, code: Any) -> None:
    """Back to the default effect for a code."""
    require(actor, WRITERS)
    if code is None:
        raise ValidationFailed({"callResult": "is required"})
    row = db.session.get(ResultEffect, as_int(code, "callResult"))
    if row is not None:
        audit.record(actor, "delete", "result_effect", row.call_result, {})
        db.session.delete(row)
        db.session.commit()


# -- applied by the feed, inside the results chunk's transaction -----------------------


def apply(attempts: list[dict[str, Any]], updates: list[dict[str, Any]], now: datetime):
    """Adjust the chunk's contact updates by the mapping; `attempts[i]` is the attempt
    row of `updates[i]`. Writes number blocks, list entries and lockouts in bulk."""
    table = mappings()
    lock_for = timedelta(hours=int(current_app.config["ECM_ABANDON_LOCKOUT_HOURS"]))
    region_code = dnc.region()
    lockouts: dict[str, tuple[datetime, int]] = {}
    ruled_out: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for attempt, update in zip(attempts, updates, strict=True):
        code, number = attempt["call_result"], attempt["number"]
        if code in ABANDONED_CODES and number and lock_for:
            key = suppression.match_key(number, region_code)
            lockouts[key] = (now + lock_for, code)
        mapping = table.get(code)
        if mapping is None or not number:
            continue
        if mapping.effect == Effect.CLOSE:
            _close(update, COMPLETED)
        elif mapping.effect == Effect.ADD_TO_LIST:
            _add_to_list(mapping, number, code, region_code, now)
            _close(update, BLOCKED_DNC)
        elif mapping.effect == Effect.SKIP_NUMBER:
            key = suppression.match_key(number, region_code)
            ruled_out.append((attempt, update, key))
    _rule_out(ruled_out, region_code, now)
    _store_lockouts(lockouts)


def _close(update: dict[str, Any], state: int) -> None:
    """Close a contact the retry map would call again; a listed one becomes state 5."""
    closing = (PENDING, COMPLETED) if state == BLOCKED_DNC else (PENDING,)
    if update["request_state"] in closing:
        update.update(request_state=state, _due=None, expires_at=None)


def _upsert(table: Any, values: dict[str, Any], keys: list[str], set_: dict | None):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values)
    if set_:
        statement = statement.on_conflict_do_update(index_elements=keys, set_=set_)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    db.session.execute(statement)


def _add_to_list(
    mapping: Mapping, number: str, code: int, region_code: str, now: datetime
) -> None:
    key = suppression.match_key(number, region_code)
    values = {
        "primary_number": number,
        "match_key": key,
        "source": f"result:{code}",
        "reason": call_result_name(code),
        "date_created": now,
        "last_updated": now,
    }
    if mapping.list_id is None:
        _upsert(DncEntry.__table__, values, ["match_key"], None)
        dnc.block_open_contacts([key])
    else:
        _upsert(
            DncListEntry.__table__,
            {**values, "list_id": mapping.list_id},
            ["list_id", "match_key"],
            None,
        )


def _rule_out(
    rows: list[tuple[dict[str, Any], dict[str, Any], str]],
    region_code: str,
    now: datetime,
) -> None:
    """Rule the dialed numbers out; retry now on the next phone when one is left."""
    if not rows:
        return
    ids = sorted({attempt["contact_id"] for attempt, _, _ in rows})
    blocked = suppression.number_blocks(ids)
    phones_of = {
        row.id: dict(zip(PHONE_FIELDS, row[1:], strict=True))
        for row in db.session.execute(
            select(Contact.id, *(getattr(Contact, p) for p in PHONE_FIELDS)).where(
                Contact.id.in_(ids)
            )
        )
    }
    new_blocks = []
    for attempt, update, key in rows:
        cid = attempt["contact_id"]
        blocked.setdefault(cid, set()).add(key)
        new_blocks.append(
            {
                "contact_id": cid,
                "match_key": key,
                "call_result": attempt["call_result"],
                "created_at": now,
            }
        )
        left = suppression.pick_number(
            phones_of.get(cid, {}), attempt["number"], blocked[cid], region_code
        )
        if not left:
            _close(update, COMPLETED)
        elif update["request_state"] == COMPLETED:  # no retry rule: the next phone
            update.update(request_state=PENDING, _due=now)
    _upsert_many(ContactNumberBlock.__table__, new_blocks, ["contact_id", "match_key"])


def _store_lockouts(lockouts: dict[str, tuple[datetime, int]]) -> None:
    rows = [
        {"match_key": key, "locked_until": until, "call_result": code}
        for key, (until, code) in sorted(lockouts.items())
    ]
    _upsert_many(NumberLockout.__table__, rows, ["match_key"], ["locked_until"])


def _upsert_many(
    table: Any, rows: list[dict[str, Any]], keys: list[str], update: list[str] = ()
) -> None:
    """One multi-row insert; on a key already there update `update`, else skip it."""
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for start in range(0, len(rows), UPSERT_CHUNK):
        statement = insert(table).values(rows[start : start + UPSERT_CHUNK])
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={name: statement.excluded[name] for name in update},
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        db.session.execute(statement)
