"""The JSON Schema of a contact filter, from the rules contact_filters checks.

A rule is a group ({match, rules}, nested at most MAX_DEPTH deep) or a condition
({field, op, value}) whose operators and values depend on the field; pydantic's
schema of FilterRule says neither, so the OpenAPI document states this one instead.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import phonenumbers

from portal.services.validation import (
    DIAL_TIME_PATTERN,
    MAX_TEXT,
    NUL_FREE,
    any_case,
)

WHOLE_TEXT = r"^\s*-?\d{1,9}\s*$"  # int(str(value).strip()), within 32 bits


def _one_of_words(words) -> str:
    return r"^\s*(" + "|".join(re.escape(w) for w in words) + r")\s*$"


@lru_cache(maxsize=1)
def _values() -> dict[str, dict]:
    """What _one_value accepts for each kind of field."""
    from portal.services.phones import zone_prefixes

    regions = sorted(
        r
        for r in phonenumbers.SUPPORTED_REGIONS
        if phonenumbers.country_code_for_region(r)
    )
    zones = sorted(z for z in available_timezones() if zone_prefixes.table_names(z))
    whole = {"type": "integer", "minimum": -(2**31 - 1), "maximum": 2**31 - 1}
    return {
        "text": {
            "type": ["string", "number", "boolean"],
            "maxLength": MAX_TEXT,
            "pattern": NUL_FREE,
        },
        "number": {"anyOf": [whole, {"type": "string", "pattern": WHOLE_TEXT}]},
        "upload": {"anyOf": [whole, {"type": "string", "pattern": WHOLE_TEXT}]},
        "region": {"type": "string", "pattern": r"^\s*" + any_case(regions) + r"\s*$"},
        "prefix": {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 10**15 - 1},
                {"type": "string", "pattern": r"^\s*\+?\d{1,15}\s*$"},
            ]
        },
        "zone": {"type": "string", "pattern": _one_of_words(zones)},
        "time": {"type": "string", "pattern": DIAL_TIME_PATTERN},
    }


def _value_schema(kind: str, ops: tuple, filters: Any) -> dict:
    """The value a condition on this kind of field takes with these operators."""
    one = _values()[kind]
    if ops[0] in filters.NO_VALUE_OPS:
        return {"type": "null"}
    if ops[0] in filters.LIST_OPS:
        many = {"type": "array", "minItems": 1, "maxItems": filters.MAX_VALUES}
        return {"anyOf": [{**many, "items": one}, one]}
    if ops[0] == filters.Op.BETWEEN:
        return {"type": "array", "minItems": 2, "maxItems": 2, "items": one}
    return one


def _op_groups(ops: tuple, filters: Any) -> list[tuple]:
    """A field's operators, grouped by the value they take."""
    groups = [
        tuple(o for o in ops if o in filters.NO_VALUE_OPS),
        tuple(o for o in ops if o in filters.LIST_OPS),
        tuple(o for o in ops if o == filters.Op.BETWEEN),
        tuple(
            o
            for o in ops
            if o not in (*filters.NO_VALUE_OPS, *filters.LIST_OPS, filters.Op.BETWEEN)
        ),
    ]
    return [g for g in groups if g]


def _conditions(filters: Any) -> list[dict]:
    """One schema per (kind of field, operators taking the same value)."""
    by_kind: dict[tuple, list[str]] = {}
    for name, (kind, ops) in filters.FIELDS.items():
        by_kind.setdefault((kind, ops), []).append(name)
    out = []
    for (kind, ops), names in by_kind.items():
        for group in _op_groups(ops, filters):
            value = _value_schema(kind, group, filters)
            props = {
                "field": {"enum": names},
                "op": {"enum": [o.value for o in group]},
                "value": value,
                "match": {"type": "null"},
                "rules": {"type": "null"},
            }
            out.append(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["field", "op"]
                    + ([] if value == {"type": "null"} else ["value"]),
                    "properties": props,
                }
            )
    return out


def _group(depth: int, filters: Any) -> dict:
    """A nested group at this depth; its rules are one level deeper."""
    rules = {
        "type": "array",
        "maxItems": filters.MAX_RULES,
        "items": rule_schema(depth + 1, filters),
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "match": {"enum": ["all", "any", None]},
            "rules": {"anyOf": [rules, {"type": "null"}]},
            "field": {"type": "null"},
            "op": {"type": "null"},
            "value": {"type": "null"},
        },
        "anyOf": [
            {"required": ["match"], "properties": {"match": {"enum": ["all", "any"]}}},
            {"required": ["rules"], "properties": {"rules": {"type": "array"}}},
        ],
    }


def rule_schema(depth: int, filters: Any) -> dict:
    """A rule at this depth (1: the filter's own rules): a condition, or a group
    while groups may still nest."""
    options = _conditions(filters)
    if depth < filters.MAX_DEPTH:
        options.append(_group(depth, filters))
    return {"anyOf": options}


def state_filter_rules(schema: dict) -> None:
    """json_schema_extra of ContactFilter: its rules as contact_filters checks them."""
    from portal.services import contact_filters

    schema["properties"]["rules"] = {
        "type": "array",
        "maxItems": contact_filters.MAX_RULES,
        # a copy: the document's post-processing edits schemas in place
        "items": {
            **copy.deepcopy(rule_schema(1, contact_filters)),
            "description": "A condition {field, op, value} or a group {match, rules}. "
            + (contact_filters.FilterRule.model_fields["value"].description or ""),
        },
    }
