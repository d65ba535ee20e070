"""Is this number suppressed, and by what: one answer for upload, claim and eligibility.

A number is suppressed for a campaign and a channel when any of these holds at `now`:
the ECM default DNC list (global, every channel), a named list that is global or the
campaign's and covers the channel, an opt-out for the channel, or the hash of an
erased number. An entry with `expires_at` blocks until that moment and not at it: an
expired entry stops blocking by itself, no job needed. A number locked out after an
abandoned call is held until its lockout ends (`docs/feed.md`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import (
    ContactNumberBlock,
    DncEntry,
    DncList,
    DncListEntry,
    ErasedNumber,
    NumberLockout,
    OptOut,
)
from portal.services import phones

QUERY_CHUNK = 5000
MIN_YEAR, MAX_YEAR = 2000, 9998
# For the OpenAPI document: the years parse_instant accepts (2000 to 9998).
YEAR_PATTERN = r"^(2[0-9]{3}|[3-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
INSTANT_SCHEMA = {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}
# (parse_instant reads "" as not given: the fields add {"const": ""} beside it)
VOICE, SMS = 0, 1


class ListChannel(StrEnum):
    """Which channel a list or an opt-out covers."""

    VOICE = "voice"
    SMS = "sms"
    BOTH = "both"


class HitKind(StrEnum):
    """Where a suppression comes from, as the eligibility answer names it."""

    DEFAULT_LIST = "dnc"
    NAMED_LIST = "list"
    OPT_OUT = "opt_out"
    ERASED = "erased"


@dataclass(frozen=True)
class Hit:
    """Why one match key is suppressed; `until` is None when it is for good."""

    key: str
    kind: HitKind
    label: str
    until: datetime | None = None

    @property
    def permanent(self) -> bool:
        return self.until is None


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 moment (`Z`, an offset, or none meaning UTC) as naive UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text[:-1] if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(
                "must be an ISO 8601 date-time, e.g. 2026-12-31T23:00:00Z"
            ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return moment


def channels_for(channel: int) -> tuple[str, str]:
    """The list channels that cover a dial on `channel` (0 voice, 1 SMS)."""
    own = ListChannel.SMS if channel == SMS else ListChannel.VOICE
    return (own.value, ListChannel.BOTH.value)


def key_hash(match_key: str) -> str:
    """A keyed hash of a match key: phone numbers are too few to hash without a key."""
    secret = str(current_app.config.get("ECM_ERASURE_HASH_KEY") or "").encode()
    return hmac.new(secret, match_key.encode(), hashlib.sha256).hexdigest()


def match_key(number: str, region_code: str | None = None) -> str:
    """The number's match key; an odd stored number is its own key."""
    region_code = region_code or current_app.config.get("ECM_DEFAULT_REGION", "US")
    try:
        return phones.normalise(number, region_code)[1]
    except Exception:  # noqa: BLE001 - a stored number that no longer parses
        return number


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(keys))
    for start in range(0, len(items), QUERY_CHUNK):
        yield items[start : start + QUERY_CHUNK]


def _in(column: Any, values: list) -> Any:
    """`column IN values`; one array parameter on PostgreSQL, where a thousand bound
    parameters cost more to send than the query costs to run."""
    if db.session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy import Integer, String, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    kind = Integer if values and isinstance(values[0], int) else String
    return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))


def _active(column: Any, now: datetime) -> Any:
    return or_(column.is_(None), column > now)


def _merge(found: dict[str, Hit], hit: Hit) -> None:
    """Keep the strongest reason: for good beats temporary, later beats sooner."""
    old = found.get(hit.key)
    if old is None or (old.until is not None and (hit.until is None)):
        found[hit.key] = hit
    elif old.until is not None and hit.until is not None and hit.until > old.until:
        found[hit.key] = hit


def hits(
    keys: Iterable[str], campaign_id: int | None, channel: int, now: datetime
) -> dict[str, Hit]:
    """Every applicable suppression of these match keys for one campaign and channel."""
    found: dict[str, Hit] = {}
    wanted = channels_for(channel)
    for chunk in _chunks(keys):
        for key, until in db.session.execute(
            select(DncEntry.match_key, DncEntry.expires_at).where(
                _in(DncEntry.match_key, chunk), _active(DncEntry.expires_at, now)
            )
        ):
            _merge(found, Hit(key, HitKind.DEFAULT_LIST, "the DNC list", until))
        scope = DncList.campaign_id.is_(None)
        if campaign_id is not None:
            scope = or_(scope, DncList.campaign_id == campaign_id)
        for key, until, name in db.session.execute(
            select(DncListEntry.match_key, DncListEntry.expires_at, DncList.name)
            .join(DncList, DncList.id == DncListEntry.list_id)
            .where(
                _in(DncListEntry.match_key, chunk),
                _active(DncListEntry.expires_at, now),
                DncList.channel.in_(wanted),
                scope,
            )
        ):
            _merge(found, Hit(key, HitKind.NAMED_LIST, f"list {name}", until))
        for (key,) in db.session.execute(
            select(OptOut.match_key).where(
                _in(OptOut.match_key, chunk), OptOut.channel.in_(wanted)
            )
        ):
            _merge(found, Hit(key, HitKind.OPT_OUT, "an opt-out"))
        _erased_hits(chunk, found)
    return found


def _erased_hits(chunk: list[str], found: dict[str, Hit]) -> None:
    by_hash = {key_hash(k): k for k in chunk}
    for (digest,) in db.session.execute(
        select(ErasedNumber.key_hash).where(_in(ErasedNumber.key_hash, list(by_hash)))
    ):
        _merge(found, Hit(by_hash[digest], HitKind.ERASED, "an erasure"))


def permanent_keys(
    keys: Iterable[str], campaign_id: int | None, channel: int, now: datetime
) -> set[str]:
    """Keys suppressed for good: the upload check flags these (state 5 at once).

    A temporary entry is not flagged at upload, or the contact would stay closed after
    the entry expired; the dial-time check holds it until then. Each source is probed
    key by key on PostgreSQL (`dnc.matching_keys`), fast on million-row lists.
    """
    from portal.services.dnc import matching_keys

    keys = list(set(keys))
    if not keys:
        return set()
    found = set(matching_keys(DncEntry.match_key, keys, DncEntry.expires_at.is_(None)))
    scope = DncList.campaign_id.is_(None)
    if campaign_id is not None:
        scope = or_(scope, DncList.campaign_id == campaign_id)
    list_ids = list(
        db.session.scalars(
            select(DncList.id).where(scope, DncList.channel.in_(channels_for(channel)))
        )
    )
    if list_ids:
        found.update(
            matching_keys(
                DncListEntry.match_key,
                keys,
                DncListEntry.list_id.in_(list_ids),
                DncListEntry.expires_at.is_(None),
            )
        )
    found.update(
        matching_keys(OptOut.match_key, keys, OptOut.channel.in_(channels_for(channel)))
    )
    by_hash = {key_hash(k): k for k in keys}
    found.update(by_hash[h] for h in matching_keys(ErasedNumber.key_hash, by_hash))
    return found


def campaign_channel(campaign_type: int) -> int:
    """The channel an upload is checked for: SMS campaigns text, the others call."""
    return SMS if campaign_type == 2 else VOICE


def lockouts(keys: Iterable[str], now: datetime) -> dict[str, datetime]:
    """Match keys locked out after an abandoned call, with the end of each lockout."""
    out: dict[str, datetime] = {}
    for chunk in _chunks(keys):
        for key, until in db.session.execute(
            select(NumberLockout.match_key, NumberLockout.locked_until).where(
                _in(NumberLockout.match_key, chunk), NumberLockout.locked_until > now
            )
        ):
            out[key] = until
    return out


# -- numbers a result proved wrong for one contact ------------------------------------


def number_blocks(contact_ids: Iterable[int]) -> dict[int, set[str]]:
    """Match keys each contact may no longer be dialed on (a wrong number, say)."""
    ids = sorted(set(contact_ids))
    out: dict[int, set[str]] = {}
    for start in range(0, len(ids), QUERY_CHUNK):
        for cid, key in db.session.execute(
            select(ContactNumberBlock.contact_id, ContactNumberBlock.match_key).where(
                _in(ContactNumberBlock.contact_id, ids[start : start + QUERY_CHUNK])
            )
        ):
            out.setdefault(cid, set()).add(key)
    return out


def pick_number(
    phone_fields: dict[str, str | None],
    number: str,
    blocked: set[str] | None,
    region_code: str | None = None,
) -> str:
    """The number to dial: the attempt's, or when a result ruled it out the contact's
    next phone (phone1..phone5 in order) that is not ruled out; "" when none is left."""
    if not blocked or not number or match_key(number, region_code) not in blocked:
        return number
    for value in phone_fields.values():
        if value and match_key(value, region_code) not in blocked:
            return value
    return ""


@dataclass
class DialCheck:
    """The dial-time verdict on a batch: closed for good, or held until a moment."""

    blocked: dict[int, Hit]
    held: dict[int, tuple[datetime, str]]


def check_dial(
    campaign_id: int, rows: list[tuple[int, str, int]], now: datetime
) -> DialCheck:
    """rows: (contact id, match key, channel). A permanent hit closes the contact
    (state 5); temporary ones and abandoned-call lockouts hold it until they end."""
    verdict = DialCheck({}, {})
    if not rows:
        return verdict
    by_channel: dict[int, set[str]] = {}
    for _, key, channel in rows:
        by_channel.setdefault(channel, set()).add(key)
    found = {ch: hits(keys, campaign_id, ch, now) for ch, keys in by_channel.items()}
    locked = lockouts({key for _, key, _ in rows}, now)
    for contact_id, key, channel in rows:
        hit = found[channel].get(key)
        if hit is not None and hit.permanent:
            verdict.blocked[contact_id] = hit
            continue
        until = [(hit.until, f"on {hit.label}")] if hit is not None else []
        if key in locked:
            until.append((locked[key], "abandoned-call lockout"))
        if until:
            verdict.held[contact_id] = max(until)
    return verdict
