"""The calling-rule settings as API fields (SPEC §8), for campaigns and preferences.

Validated once here, so the API, the portal forms and the OpenAPI document agree.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from portal.services.calling_rules.dates import (
    MAX_ENTRIES,
    parse_calendars,
    parse_restricted,
)
from portal.services.calling_rules.policy import MAX_CAP_HOURS
from portal.services.validation import NUL_FREE, Schema

MAX_CAP_COUNT = 1000
MAX_GAP_MINUTES = 7 * 24 * 60


class FrequencyCap(Schema):
    """At most `count` dials of one number in any rolling `hours`, across campaigns."""

    count: int = Field(ge=1, le=MAX_CAP_COUNT)
    hours: int = Field(ge=1, le=MAX_CAP_HOURS)


def _restricted_schema(schema: dict) -> None:
    """parse_restricted's entries: a date, {name?, date} or {name?, from, to?}.
    (A range's end before its start, or longer than MAX_RANGE_DAYS, is 406 too:
    two fields together, which no JSON Schema keyword relates.)"""
    day = {"type": "string", "format": "date"}
    entry = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": ["string", "number", "null"], "pattern": NUL_FREE},
            "date": day,
            "from": day,
            "to": day,
        },
    }
    item = {
        "anyOf": [
            day,
            {**entry, "required": ["date"]},
            {**entry, "required": ["from"]},
        ]
    }
    listed = {"type": "array", "items": item, "maxItems": MAX_ENTRIES}
    schema["anyOf"] = [listed, {"type": "null"}]


def _calendars_schema(schema: dict) -> None:
    """check_calendar's shape: a country code, optionally -subdivision, any case.
    Which codes exist is the holidays package's data (406 naming the code)."""
    code = {"type": "string", "pattern": r"^\s*[A-Za-z]{2,3}(-[0-9A-Za-z]{1,6})?\s*$"}
    listed = {"type": "array", "items": code, "maxItems": 50}
    schema["anyOf"] = [listed, {"type": "null"}]


class PolicyFields(Schema):
    """frequencyCap, minGapMinutes, restrictedDates, holidayCalendars."""

    frequencyCap: FrequencyCap | None = None
    minGapMinutes: int | None = Field(default=None, ge=0, le=MAX_GAP_MINUTES)
    restrictedDates: list[Any] | None = Field(
        default=None, json_schema_extra=_restricted_schema
    )
    holidayCalendars: list[Any] | None = Field(
        default=None, json_schema_extra=_calendars_schema
    )

    @field_validator("restrictedDates")
    @classmethod
    def _restricted(cls, v: Any) -> Any:
        return None if v is None else parse_restricted(v)

    @field_validator("holidayCalendars")
    @classmethod
    def _calendars(cls, v: Any) -> Any:
        return None if v is None else parse_calendars(v)


class CampaignRuleFields(PolicyFields):
    """The policy fields plus startDate and endDate (YYYY-MM-DD, campaign zone)."""

    startDate: date | None = None
    endDate: date | None = None

    @field_validator("startDate", "endDate", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        if not isinstance(v, str):
            raise ValueError("must be a YYYY-MM-DD date")
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            raise ValueError("must be a YYYY-MM-DD date") from None

    @model_validator(mode="after")
    def _ordered(self) -> CampaignRuleFields:
        if self.startDate and self.endDate and self.endDate < self.startDate:
            raise ValueError("endDate is before startDate")
        return self


RULE_COLUMNS = {
    "startDate": ("start_date",),
    "endDate": ("end_date",),
    "restrictedDates": ("restricted_dates",),
    "holidayCalendars": ("holiday_calendars",),
    "minGapMinutes": ("min_gap_minutes",),
    "frequencyCap": ("frequency_cap_count", "frequency_cap_hours"),
}


def rule_values(body: PolicyFields) -> dict[str, Any]:
    """The columns the request sets (null clears; a null cap clears both columns)."""
    out: dict[str, Any] = {}
    for name in body.model_fields_set:
        if name not in RULE_COLUMNS:
            continue
        value = getattr(body, name)
        if name == "frequencyCap":
            out["frequency_cap_count"] = value.count if value else None
            out["frequency_cap_hours"] = value.hours if value else None
        else:
            out[RULE_COLUMNS[name][0]] = value
    return out


def serialise(row: Any, with_dates: bool) -> dict[str, Any]:
    """The settings of a campaign or the preferences under their API names."""
    cap = None
    if row.frequency_cap_count and row.frequency_cap_hours:
        cap = {"count": row.frequency_cap_count, "hours": row.frequency_cap_hours}
    out: dict[str, Any] = {
        "frequencyCap": cap,
        "minGapMinutes": row.min_gap_minutes,
        "restrictedDates": list(row.restricted_dates or []),
        "holidayCalendars": list(row.holiday_calendars or []),
    }
    if with_dates:
        out["startDate"] = row.start_date.isoformat() if row.start_date else None
        out["endDate"] = row.end_date.isoformat() if row.end_date else None
    return out


FREQUENCY_CAP_SCHEMA = {
    "type": ["object", "null"],
    "properties": {"count": {"type": "integer"}, "hours": {"type": "integer"}},
}
POLICY_RESPONSE = {
    "frequencyCap": FREQUENCY_CAP_SCHEMA,
    "minGapMinutes": {"type": ["integer", "null"]},
    "restrictedDates": {"type": "array", "items": {"type": "object"}},
    "holidayCalendars": {"type": "array", "items": {"type": "string"}},
}
CAMPAIGN_RESPONSE = {
    **POLICY_RESPONSE,
    "startDate": {"type": ["string", "null"], "format": "date"},
    "endDate": {"type": ["string", "null"], "format": "date"},
}
