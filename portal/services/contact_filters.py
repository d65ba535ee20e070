"""Campaign contact filters: structured conditions compiled to SQL, never SQL text.

A filter is JSON a manager builds in the portal or an integrator sends:

    {"match": "all", "rules": [
        {"field": "businessParam3", "op": "eq", "value": "gold"},
        {"match": "any", "rules": [
            {"field": "region", "op": "in", "value": ["GB", "IE"]},
            {"field": "zone", "op": "in", "value": ["America/Chicago"]},
            {"field": "dialTime", "op": "between",
             "value": ["2026-12-01 09:00", "2026-12-31 18:00"]}]}]}

Every field and operator is named here and compiled to a SQLAlchemy expression on
the contacts table, so user text only ever reaches the database as a bound value.
The claim adds the campaign's compiled filter to its WHERE clause; the eligibility
answer and the campaign summary say `excluded_by_filter` for the contacts it drops.
"""

from __future__ import annotations

import zoneinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from portal.extensions import db
from portal.models import Campaign, Contact, User
from portal.services.enums import PENDING
from portal.services.errors import ValidationFailed
from portal.services.phones import zone_prefixes
from portal.services.roles import READERS, require
from portal.services.validation import MAX_TEXT, parse_dial_time

FIELD = "contactFilter"
MAX_DEPTH = 3
MAX_RULES = 50
MAX_VALUES = 500
_UTC = ZoneInfo("UTC")


class Match(StrEnum):
    ALL = "all"
    ANY = "any"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    EMPTY = "empty"
    NOT_EMPTY = "not_empty"
    GTE = "gte"
    LTE = "lte"
    BEFORE = "before"
    AFTER = "after"
    BETWEEN = "between"


TEXT_OPS = (
    Op.EQ,
    Op.NE,
    Op.IN,
    Op.NOT_IN,
    Op.CONTAINS,
    Op.STARTS_WITH,
    Op.EMPTY,
    Op.NOT_EMPTY,
)
PARAM_FIELDS = {f"businessParam{i}": f"business_param{i}" for i in range(1, 13)}
# field name -> (what it holds, the operators it takes)
FIELDS: dict[str, tuple[str, tuple[Op, ...]]] = {
    **{name: ("text", TEXT_OPS) for name in PARAM_FIELDS},
    "region": ("region", (Op.IN, Op.NOT_IN)),
    "prefix": ("prefix", (Op.IN, Op.NOT_IN)),
    "zone": ("zone", (Op.IN, Op.NOT_IN, Op.EMPTY, Op.NOT_EMPTY)),
    "uploadId": ("upload", (Op.IN, Op.NOT_IN, Op.EMPTY, Op.NOT_EMPTY)),
    "dialTime": ("time", (Op.BEFORE, Op.AFTER, Op.BETWEEN)),
    "priority": ("number", (Op.EQ, Op.NE, Op.GTE, Op.LTE)),
}
NO_VALUE_OPS = (Op.EMPTY, Op.NOT_EMPTY)
LIST_OPS = (Op.IN, Op.NOT_IN)


class FilterRule(BaseModel):
    """One condition ({field, op, value}) or a nested group ({match, rules})."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(
        default=None,
        description=", ".join(FIELDS),
        json_schema_extra={"enum": [*FIELDS, None]},
    )
    op: Op | None = Field(
        default=None,
        description="; ".join(
            f"{name}: {', '.join(o.value for o in ops)}"
            for name, (_, ops) in FIELDS.items()
            if not name.startswith("businessParam")
        )
        + "; businessParam1-12: "
        + ", ".join(o.value for o in TEXT_OPS),
    )
    value: Any = Field(
        default=None,
        description="text, or a list for in/not_in ([from, to] for between); region: "
        "ISO codes; prefix: E.164 digits; zone: IANA zones (America/New_York), the "
        "zones the calling rules place the number in by its prefix; uploadId: ids; "
        "dialTime: YYYY-MM-DD HH:MM in the campaign's zone; none for empty/not_empty",
    )
    match: Match | None = None
    rules: list[FilterRule] | None = Field(default=None, max_length=MAX_RULES)


def _state_rules(schema: dict) -> None:
    """State each rule as _check_rule checks it (contact_filter_schema)."""
    from portal.services.contact_filter_schema import state_filter_rules

    state_filter_rules(schema)


class ContactFilter(BaseModel):
    """A campaign's contact filter: all or any of its rules must hold."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_state_rules)

    match: Match = Match.ALL
    rules: list[FilterRule] = Field(default_factory=list, max_length=MAX_RULES)


def parse_filter(raw: Any) -> dict[str, Any] | None:
    """Check a filter and return it normalised (None or no rules: no filter)."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise ValueError("must be an object with match and rules")
    try:
        model = ContactFilter.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise ValueError(f"{where}: {err.get('msg', 'is not valid')}") from None
    rules = [_check_rule(rule, f"rules.{n}", 1) for n, rule in enumerate(model.rules)]
    if not rules:
        return None
    return {"match": model.match.value, "rules": rules}


def _check_rule(rule: FilterRule, where: str, depth: int) -> dict[str, Any]:
    if rule.rules is not None or rule.match is not None:
        if rule.field is not None or rule.op is not None or rule.value is not None:
            raise ValueError(f"{where}: a group has only match and rules")
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where}: groups nest at most {MAX_DEPTH} deep")
        return {
            "match": (rule.match or Match.ALL).value,
            "rules": [
                _check_rule(r, f"{where}.rules.{n}", depth + 1)
                for n, r in enumerate(rule.rules or [])
            ],
        }
    if rule.field not in FIELDS:
        raise ValueError(f"{where}.field: must be one of {', '.join(FIELDS)}")
    kind, ops = FIELDS[rule.field]
    if rule.op not in ops:
        names = ", ".join(o.value for o in ops)
        raise ValueError(f"{where}.op: {rule.field} takes {names}")
    value = _check_value(kind, rule.op, rule.value, f"{where}.value")
    return {"field": rule.field, "op": rule.op.value, "value": value}


def _check_value(kind: str, op: Op, value: Any, where: str) -> Any:
    if op in NO_VALUE_OPS:
        if value is not None:
            raise ValueError(f"{where}: {op.value} takes no value (leave it out)")
        return None
    if op in LIST_OPS:
        items = value if isinstance(value, list) else [value]
        if not items or len(items) > MAX_VALUES:
            raise ValueError(f"{where}: give 1 to {MAX_VALUES} values")
        return [_one_value(kind, item, where) for item in items]
    if op == Op.BETWEEN:
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"{where}: give [from, to]")
        return [_one_value(kind, item, where) for item in value]
    return _one_value(kind, value, where)


def _one_value(kind: str, value: Any, where: str) -> Any:
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(f"{where}: must be a single value")
    if isinstance(value, float) and value.is_integer() and kind != "text":
        value = int(value)  # JSON's 57.0 is the whole number 57
    text = str(value).strip()
    if kind in ("upload", "number"):
        if isinstance(value, bool) or not text.lstrip("-").isdigit():
            raise ValueError(f"{where}: must be a whole number")
        number = int(text)
        if not -(2**31) < number < 2**31:
            raise ValueError(f"{where}: is out of range")
        return number
    if kind == "region":
        code = text.upper()
        if not phonenumbers.country_code_for_region(code):
            raise ValueError(f"{where}: {text!r} is not a region code (e.g. GB, US)")
        return code
    if kind == "prefix":
        digits = text.removeprefix("+")
        if not digits.isdigit() or len(digits) > 15:
            raise ValueError(f"{where}: must be digits such as +1212 or 44")
        return "+" + digits
    if kind == "zone":
        return _zone_value(text, where)
    if kind == "time":
        try:
            parse_dial_time(text)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return text
    if len(text) > MAX_TEXT:
        raise ValueError(f"{where}: is longer than {MAX_TEXT} characters")
    return str(value)


def _zone_value(text: str, where: str) -> str:
    """An IANA zone some number rings in (an alias such as Asia/Kolkata is kept)."""
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{where}: {text!r} is not an IANA time zone (e.g. America/New_York)"
        ) from None
    if not zone_prefixes.table_names(text):
        raise ValueError(f"{where}: no phone number rings in {text!r}")
    return text


def zone_choices() -> tuple[str, ...]:
    """The zones numbers ring in, as the editor offers them."""
    return zone_prefixes.phone_zones()


# -- compiling -------------------------------------------------------------------------


def compile_filter(spec: dict[str, Any] | None, zone: str | None) -> ColumnElement:
    """The SQL condition a contact row must meet (normalised filter; None: all)."""
    if not spec:
        return true()
    return _group(spec, ZoneInfo(zone or "UTC"))


def _group(spec: dict[str, Any], zone: ZoneInfo) -> ColumnElement:
    parts = [
        _group(rule, zone) if "rules" in rule else _condition(rule, zone)
        for rule in spec["rules"]
    ]
    if not parts:
        return true()
    return and_(*parts) if spec["match"] == Match.ALL else or_(*parts)


def _condition(rule: dict[str, Any], zone: ZoneInfo) -> ColumnElement:
    field, op, value = rule["field"], Op(rule["op"]), rule["value"]
    kind = FIELDS[field][0]
    if kind == "text":
        return _text(getattr(Contact, PARAM_FIELDS[field]), op, value)
    if kind in ("region", "prefix"):
        prefixes = (
            [f"+{phonenumbers.country_code_for_region(v)}" for v in value]
            if kind == "region"
            else value
        )
        hit = or_(*(Contact.match_key.startswith(p, autoescape=True) for p in prefixes))
        return hit if op == Op.IN else not_(hit)
    if kind == "zone":
        return _zone(op, value)
    if kind == "upload":
        upload = func.coalesce(Contact.upload_id, 0)
        return {
            Op.IN: lambda: upload.in_(value),
            Op.NOT_IN: lambda: upload.not_in(value),
            Op.EMPTY: lambda: upload == 0,
            Op.NOT_EMPTY: lambda: upload != 0,
        }[op]()
    if kind == "number":
        column = Contact.priority
        return {
            Op.EQ: lambda: column == value,
            Op.NE: lambda: column != value,
            Op.GTE: lambda: column >= value,
            Op.LTE: lambda: column <= value,
        }[op]()
    return _time(op, value, zone)


def _zone(op: Op, value: Any) -> ColumnElement:
    """The number rings in one of the zones (or has a known zone): prefix tests.

    The prefixes come from phonenumbers' table, never from the user, and are
    rendered as literals: a zone such as America/New_York has 2,390 of them,
    past what SQLite takes as bound parameters once a filter names a few zones.
    """
    if op in NO_VALUE_OPS:
        wanted: frozenset[str] = frozenset()
    else:
        wanted = frozenset(n for v in value for n in zone_prefixes.table_names(v))
    prefixes = zone_prefixes.prefixes_ringing_in(wanted)
    by_length: dict[int, list[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), []).append(prefix)
    by_number = or_(
        false(),
        *(
            func.substr(Contact.match_key, 1, n).in_(
                bindparam(f"zone_{n}", group, expanding=True, literal_execute=True)
            )
            for n, group in sorted(by_length.items())
        ),
    )
    # a zone the integrator gave for the person (contact timeZone) wins, as in
    # the calling rules; the number's prefix places everyone else
    given = Contact.time_zone.is_not(None)
    if op in NO_VALUE_OPS:
        hit = or_(given, by_number)
    else:
        names = sorted({*value, *wanted})
        hit = or_(and_(given, Contact.time_zone.in_(names)), and_(~given, by_number))
    return hit if op in (Op.IN, Op.NOT_EMPTY) else not_(hit)


def _text(raw: ColumnElement, op: Op, value: Any) -> ColumnElement:
    """Text conditions; contains and starts_with ignore case on both databases.

    An empty parameter reads as "". `eq` and `in` with text compare the column
    itself, so the planner can use its statistics to estimate what a filter keeps.
    """
    column = func.coalesce(raw, "")
    if op == Op.EQ and value != "":
        return raw == value
    if op == Op.IN and "" not in value:
        return raw.in_(value)
    if op == Op.EQ:
        return column == value
    if op == Op.NE:
        return column != value
    if op == Op.IN:
        return column.in_(value)
    if op == Op.NOT_IN:
        return column.not_in(value)
    if op == Op.EMPTY:
        return column == ""
    if op == Op.NOT_EMPTY:
        return column != ""
    lowered = func.lower(column)
    if op == Op.CONTAINS:
        return lowered.contains(value.lower(), autoescape=True)
    return lowered.startswith(value.lower(), autoescape=True)


def _utc(text: str, zone: ZoneInfo):
    local = parse_dial_time(text)
    if zone is _UTC:
        return local
    return local.replace(tzinfo=zone).astimezone(_UTC).replace(tzinfo=None)


def _time(op: Op, value: Any, zone: ZoneInfo) -> ColumnElement:
    """dialTime bounds, given in the campaign's zone like every dialTime."""
    if op == Op.BEFORE:
        return Contact.dial_time < _utc(value, zone)
    if op == Op.AFTER:
        return Contact.dial_time >= _utc(value, zone)
    start, end = (_utc(v, zone) for v in value)
    if end < start:
        return false()
    return and_(Contact.dial_time >= start, Contact.dial_time < end)


def campaign_condition(campaign: Campaign) -> ColumnElement | None:
    """The campaign's compiled filter for the claim, or None when it has none."""
    if not campaign.contact_filter:
        return None
    return compile_filter(campaign.contact_filter, campaign.time_zone)


# -- counting and explaining -----------------------------------------------------------


def kept_counts(
    actor: User, campaign: Campaign, raw: Any
) -> tuple[int, int, dict[str, Any] | None]:
    """(pending contacts the filter keeps, pending contacts, the normalised filter)."""
    require(actor, READERS)
    if not isinstance(raw, dict):  # null is "no filter" on a campaign, not here
        raise ValidationFailed({"body": "must be a JSON object (a contact filter)"})
    try:
        spec = parse_filter(raw)
    except ValueError as exc:
        raise ValidationFailed({FIELD: str(exc)}) from None
    base = (Contact.campaign_id == campaign.id, Contact.request_state == PENDING)
    total = db.session.scalar(select(func.count()).where(*base)) or 0
    if spec is None:
        return total, total, None
    kept = db.session.scalar(
        select(func.count()).where(*base, compile_filter(spec, campaign.time_zone))
    )
    return kept or 0, total, spec


def excluded_count(campaign: Campaign) -> int:
    """Pending contacts of the campaign that its filter leaves out."""
    condition = campaign_condition(campaign)
    if condition is None:
        return 0
    return (
        db.session.scalar(
            select(func.count()).where(
                Contact.campaign_id == campaign.id,
                Contact.request_state == PENDING,
                not_(func.coalesce(condition, false())),
            )
        )
        or 0
    )


def excludes(campaign: Campaign, contact_id: int) -> bool:
    """Does the campaign's filter leave this contact out (the same SQL as the claim)?"""
    condition = campaign_condition(campaign)
    if condition is None:
        return False
    kept = db.session.scalar(
        select(Contact.id).where(Contact.id == contact_id, condition)
    )
    return kept is None


def describe(spec: dict[str, Any] | None) -> str:
    """A one-line reading of a filter for the eligibility message and the portal."""
    if not spec:
        return "every contact"
    joiner = " and " if spec["match"] == Match.ALL else " or "
    parts = []
    for rule in spec["rules"]:
        if "rules" in rule:
            parts.append(f"({describe(rule)})")
        elif rule["op"] in NO_VALUE_OPS:
            parts.append(f"{rule['field']} {rule['op'].replace('_', ' ')}")
        else:
            value = rule["value"]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{rule['field']} {rule['op'].replace('_', ' ')} {shown}")
    return joiner.join(parts)
