"""Campaigns: their dialing window, strategy, dialer campaign, and pause/resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CallStrategy, Campaign, User
from portal.models._base import name_key
from portal.services import audit, cisco, contact_filters, paging, recycling
from portal.services.calling_rules.fields import CampaignRuleFields, rule_values
from portal.services.dial_order import DialOrder, check_dial_order
from portal.services.enums import (
    CAMPAIGN_STATUS,
    CAMPAIGN_TYPES,
    DIALER_TYPES,
    CampaignStatus,
)
from portal.services.errors import NotFound, ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import (
    HHMM_PATTERN,
    MAX_TEXT,
    WEEK_DAYS_PATTERN,
    Schema,
    any_case,
    as_int,
    check_hhmm,
    check_time_zone,
    check_week_days,
    parse,
    strip_null,
    zone_names,
)

INPUT_ALIASES = {"startTIme": "startTime", "weekdays": "weekDays"}


def _zones() -> list[dict]:
    return [{"type": "string", "enum": sorted(zone_names())}, {"type": "null"}]


def _dial_orders() -> list[dict]:
    """check_dial_order: one of the names, any case, spaces trimmed (or null)."""
    words = [o.value for o in DialOrder]
    pattern = r"^\s*" + any_case(words) + r"\s*$"
    return [{"type": "string", "pattern": pattern}, {"type": "null"}]


def _week_days_schema(schema: dict) -> None:
    """ "1,2,3" (spaces and empty items ignored), or a list of days, or null."""
    schema.clear()
    day = {
        "anyOf": [
            {"type": "integer", "enum": list(range(7))},
            {"type": "string", "pattern": r"^\s*[0-6]\s*$"},
        ]
    }
    schema["anyOf"] = [
        {"type": "string", "pattern": WEEK_DAYS_PATTERN},
        {"type": "array", "items": day, "minItems": 1},
        {"type": "null"},
    ]


class CampaignFields(CampaignRuleFields):
    """Fields a client may set; create and update differ only in what is required.

    The calling-rule fields (startDate, endDate, restrictedDates, holidayCalendars,
    frequencyCap, minGapMinutes) come from CampaignRuleFields.
    """

    name: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: str | None = Field(default=None, max_length=4000)
    strategyId: int | None = None
    status: int | None = Field(default=None, json_schema_extra={"enum": [0, 1]})
    type: int | None = Field(
        default=None, json_schema_extra={"enum": sorted(CAMPAIGN_TYPES)}
    )
    enabled: bool | None = None
    crmCampaignId: str | None = Field(default=None, max_length=MAX_TEXT)
    ciscoCampaignId: str | None = Field(default=None, max_length=64)
    ciscoCampaignName: str | None = Field(default=None, max_length=MAX_TEXT)
    startTime: str | None = Field(
        default=None, json_schema_extra={"pattern": HHMM_PATTERN}
    )
    endTime: str | None = Field(
        default=None, json_schema_extra={"pattern": HHMM_PATTERN}
    )
    weekDays: str | None = Field(default=None, json_schema_extra=_week_days_schema)
    timeZone: str | None = Field(
        default=None, json_schema_extra=lambda s: s.update(anyOf=_zones())
    )
    dialerType: str | None = Field(
        default=None,
        json_schema_extra={"pattern": r"^\s*" + any_case(DIALER_TYPES) + r"?\s*$"},
    )
    skillGroup: str | None = Field(default=None, max_length=MAX_TEXT)
    smsTemplate: str | None = Field(default=None, max_length=1600)
    respectContactTimeZone: bool | None = None
    responseTimeout: int | None = Field(default=None, ge=10, le=7 * 86400)
    maxAbandonRate: float | None = Field(default=None, gt=0, le=100)
    dialOrder: str | None = Field(
        default=None,
        description="due, priority, newest or random",
        json_schema_extra=lambda s: s.update(anyOf=_dial_orders()),
    )
    contactFilter: contact_filters.ContactFilter | None = None
    recycleRules: list[recycling.RecycleRule] | None = Field(
        default=None, max_length=recycling.MAX_RULES
    )

    _dial_order = field_validator("dialOrder", mode="before")(
        lambda cls, v: check_dial_order(v)
    )
    _filter = field_validator("contactFilter")(
        lambda cls, v: (
            None
            if v is None
            else contact_filters.parse_filter(v.model_dump(exclude_none=True))
        )
    )
    _recycle = field_validator("recycleRules")(
        lambda cls, v: None if v is None else recycling.check_rules(v)
    )

    _hhmm = field_validator("startTime", "endTime")(lambda cls, v: check_hhmm(v))
    _days = field_validator("weekDays", mode="before")(
        lambda cls, v: check_week_days(v)
    )
    _zone = field_validator("timeZone")(lambda cls, v: check_time_zone(v))

    @field_validator("status")
    @classmethod
    def _status(cls, v: int | None) -> int | None:
        if v is not None and v not in CAMPAIGN_STATUS:
            raise ValueError("must be 1 (running) or 0 (paused)")
        return v

    @field_validator("type")
    @classmethod
    def _type(cls, v: int | None) -> int | None:
        if v is not None and v not in CAMPAIGN_TYPES:
            raise ValueError("must be 0 (agent), 1 (IVR) or 2 (SMS)")
        return v

    @field_validator("dialerType")
    @classmethod
    def _dialer_type(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if v.upper() not in DIALER_TYPES:
            raise ValueError(f"must be one of {', '.join(DIALER_TYPES)}")
        return v.upper()


class CampaignCreate(CampaignFields):
    """What a create must carry (the service checks the same, field by field)."""

    name: str = Field(min_length=1, max_length=MAX_TEXT)
    strategyId: int


class CampaignBySkillGroup(CampaignCreate):
    skillGroup: str = Field(min_length=1, max_length=MAX_TEXT)


class CampaignUpdate(CampaignFields):
    """null is refused for a column that must have a value (update_campaign)."""

    model_config = ConfigDict(
        json_schema_extra=lambda s: strip_null(s, _not_nullable_fields())
    )
    id: int


def _not_nullable_fields() -> list[str]:
    columns = Campaign.__table__.c
    return [
        key
        for key, column in COLUMN_OF.items()
        if column in columns and not columns[column].nullable
    ]


STATUS_WORDS = {
    "0": "0",
    "1": "1",
    "pause": "0",
    "paused": "0",
    "resume": "1",
    "running": "1",
}


def _status_schema(schema: dict) -> None:
    """0/1 as a number, or one of the words in any case (spaces around ignored)."""
    schema.clear()
    schema["anyOf"] = [
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": r"^\s*" + any_case(STATUS_WORDS) + r"\s*$"},
    ]


class CampaignStatusIn(Schema):
    id: int
    status: str = Field(json_schema_extra=_status_schema)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> str:
        text = (
            str(v).strip().lower() if v is not None and not isinstance(v, bool) else ""
        )
        if text not in STATUS_WORDS:
            raise ValueError("must be 0/1 or pause/resume")
        return STATUS_WORDS[text]


COLUMN_OF = {
    "name": "name",
    "description": "description",
    "strategyId": "strategy_id",
    "status": "status",
    "type": "type",
    "enabled": "enabled",
    "crmCampaignId": "crm_campaign_id",
    "ciscoCampaignId": "cisco_campaign_id",
    "ciscoCampaignName": "cisco_campaign_name",
    "startTime": "start_time",
    "endTime": "end_time",
    "weekDays": "week_days",
    "timeZone": "time_zone",
    "dialerType": "dialer_type",
    "skillGroup": "skill_group",
    "smsTemplate": "sms_template",
    "respectContactTimeZone": "respect_contact_time_zone",
    "responseTimeout": "response_timeout",
    "maxAbandonRate": "max_abandon_rate",
    "dialOrder": "dial_order",
    "contactFilter": "contact_filter",
    "recycleRules": "recycle_rules",
}


def list_campaigns(
    actor: User, offset: int = 0, limit: int | None = None
) -> tuple[list[Campaign], int]:
    require(actor, READERS)
    query = select(Campaign).order_by(Campaign.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    items = list(db.session.scalars(query))
    total = paging.page_total(
        ("campaigns",),
        offset,
        limit,
        len(items),
        lambda: db.session.scalar(select(func.count()).select_from(Campaign)),
    )
    return items, total


def get_campaign(actor: User, campaign_id: Any, field: str = "id") -> Campaign:
    require(actor, READERS)
    cid = as_int(campaign_id, field)
    campaign = db.session.get(Campaign, cid)
    if campaign is None:
        raise NotFound(f"Campaign with id {cid} not found")
    return campaign


def _check_references(body: CampaignFields, values: dict[str, Any]) -> None:
    """The strategy and the dialer campaign a campaign names must exist."""
    errors = {}
    if "strategy_id" in values:
        if db.session.get(CallStrategy, values["strategy_id"]) is None:
            errors["strategyId"] = f"strategy {values['strategy_id']} does not exist"
    cid = values.get("cisco_campaign_id")
    if cid:
        row = cisco.find(cid)
        if row is None:
            errors["ciscoCampaignId"] = f"dialer campaign {cid} does not exist"
        elif "ciscoCampaignName" not in body.model_fields_set:
            values["cisco_campaign_name"] = row.name
    if "name" in values:
        query = select(func.count()).where(
            Campaign.name_key == name_key(values["name"])
        )
        if values.get("_id") is not None:
            query = query.where(Campaign.id != values["_id"])
        if db.session.scalar(query):
            errors["name"] = "is already used by another campaign"
    if errors:
        raise ValidationFailed(errors)


def _values(body: CampaignFields) -> dict[str, Any]:
    values = {
        COLUMN_OF[key]: getattr(body, key)
        for key in body.model_fields_set
        if key in COLUMN_OF
    }
    values.update(rule_values(body))
    return values


def create_campaign(
    actor: User, data: dict, *, by_skill_group: bool = False
) -> Campaign:
    require(actor, WRITERS)
    body = parse(CampaignFields, data, INPUT_ALIASES)
    missing = {
        f: "is required" for f in ("name", "strategyId") if getattr(body, f) is None
    }
    if by_skill_group and not body.skillGroup:
        missing["skillGroup"] = "is required"
    if missing:
        raise ValidationFailed(missing)
    values = _values(body)
    values = {k: v for k, v in values.items() if v is not None}
    if by_skill_group and "cisco_campaign_id" not in values:
        match = cisco.find_by_name(body.skillGroup)
        if match is not None:
            values["cisco_campaign_id"] = match.cisco_campaign_id
            values["cisco_campaign_name"] = match.name
    _check_references(body, values)
    values.setdefault("time_zone", current_app.config["ECM_TIMEZONE"])
    values.setdefault("respect_contact_time_zone", True)  # issue #12: by default
    campaign = Campaign(**values)
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor, "create", "campaign", campaign.id, values)
    db.session.commit()
    return campaign


def update_campaign(actor: User, data: dict) -> Campaign:
    require(actor, WRITERS)
    body = parse(CampaignUpdate, data, INPUT_ALIASES)
    campaign = get_campaign(actor, body.id)
    values = _values(body)
    for column, value in values.items():
        if value is None and not Campaign.__table__.c[column].nullable:
            raise ValidationFailed({_api_name(column): "may not be null"})
    if (
        "type" in values
        and values["type"] is not None
        and values["type"] != campaign.type
    ):
        raise ValidationFailed({"type": "cannot change after the campaign is created"})
    values.pop("type", None)
    if values.get("status") == 1:
        values["pause_reason"] = None
    _check_references(body, {**values, "_id": campaign.id})
    changes = audit.diff(campaign, values)
    if changes:
        audit.record(actor, "update", "campaign", campaign.id, changes)
    db.session.commit()
    return campaign


def _api_name(column: str) -> str:
    return next((k for k, v in COLUMN_OF.items() if v == column), column)


def set_status(actor: User, data: dict) -> tuple[Campaign, str]:
    """Pause (0) or resume (1) a campaign; returns it and the verb for the message."""
    require(actor, WRITERS)
    body = parse(CampaignStatusIn, data)
    campaign = get_campaign(actor, body.id)
    status = int(body.status)
    values: dict[str, Any] = {"status": status}
    if status == 1:
        values["pause_reason"] = None  # resumed: the guard's reason no longer holds
    changes = audit.diff(campaign, values)
    if changes:
        audit.record(
            actor,
            "pause" if status == CampaignStatus.PAUSED else "resume",
            "campaign",
            campaign.id,
            changes,
        )
    db.session.commit()
    return campaign, "paused" if status == CampaignStatus.PAUSED else "resumed"


def delete_campaign(actor: User, campaign_id: Any) -> None:
    """Delete a campaign with its contacts, their history and its uploads."""
    require(actor, WRITERS)
    campaign = get_campaign(actor, campaign_id)
    from portal.models import (
        AttemptCount,
        CallResultInbox,
        Contact,
        ContactAttempt,
        Upload,
        UploadError,
    )

    cid = campaign.id
    contact_ids = select(Contact.id).where(Contact.campaign_id == cid)
    db.session.execute(
        ContactAttempt.__table__.delete().where(
            ContactAttempt.contact_id.in_(contact_ids)
        )
    )
    db.session.execute(
        CallResultInbox.__table__.delete().where(
            CallResultInbox.contact_id.in_(contact_ids)
        )
    )
    db.session.execute(Contact.__table__.delete().where(Contact.campaign_id == cid))
    db.session.execute(
        AttemptCount.__table__.delete().where(AttemptCount.campaign_id == cid)
    )
    upload_ids = select(Upload.id).where(Upload.campaign_id == cid)
    from portal.services.uploads import storage

    files = storage.disk_files_of(list(db.session.scalars(upload_ids)))
    db.session.execute(
        UploadError.__table__.delete().where(UploadError.upload_id.in_(upload_ids))
    )
    db.session.execute(Upload.__table__.delete().where(Upload.campaign_id == cid))
    audit.record(actor, "delete", "campaign", cid, {"name": campaign.name})
    db.session.delete(campaign)
    db.session.commit()
    for path in files:  # uploads in the database store went with their rows
        storage.remove(path)


WINDOW_STATES = {
    "running": "Running",
    "paused": "Paused",
    "disabled": "Disabled",
    "outside_window": "Outside its window",
    "campaign_ended": "Ended",
    "campaign_not_started": "Not started yet",
}


def window_state(campaign: Campaign, now: datetime) -> str:
    """The one badge a campaign list shows: why it is or is not dialing right now."""
    if not campaign.enabled:
        return "disabled"
    if campaign.status != CampaignStatus.RUNNING:
        return "paused"
    from portal.services.calling_rules import campaign_blocks
    from portal.services.feed.windows import campaign_window, local_time

    if campaign.start_date or campaign.end_date:  # issue #12's campaign dates
        dates = campaign_blocks(campaign, now)
        if dates:
            return dates[0].code
    if not campaign_window(campaign).open_at(local_time(now, campaign.time_zone)):
        return "outside_window"
    return "running"
