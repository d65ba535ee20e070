"""Campaign contacts (the seed's callbacks): adding one, listing, and their history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from pydantic import Field, field_validator
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.models import (
    BUSINESS_PARAMS,
    PHONES,
    Campaign,
    Contact,
    ContactAttempt,
    User,
    utcnow,
)
from portal.services import audit, campaigns, dnc, paging, phones
from portal.services.calling_rules.regions import check_region, region_pattern
from portal.services.calling_rules.zones import check_time_zone, time_zone_pattern
from portal.services.dialers.base import cisco_length_problem
from portal.services.enums import (
    BLOCKED_DNC,
    OPEN_STATES,
    PENDING,
    REQUEST_STATES,
    RESULT_ON_DNC,
    CampaignType,
    Channel,
)
from portal.services.errors import NotFound, ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import (
    DIAL_TIME_PATTERN,
    MAX_TEXT,
    PhoneText,
    Schema,
    as_int,
    optional_phone_schema,
    parse,
    parse_dial_time,
    phone_schema,
    words_pattern,
)

MAX_PAGE = 1000
DEFAULT_PAGE = 50
MAX_PRIORITY = 1_000_000
DUPLICATE_SCOPES = ("campaign", "all")


def check_duplicate_scope(value: Any) -> str:
    """duplicateScope: `campaign` (the default, ECM's rule) or `all` campaigns."""
    text = "" if value is None else str(value).strip().lower()
    text = text or "campaign"  # blank is the default, as words_pattern states
    if text not in DUPLICATE_SCOPES:
        raise ValueError("must be campaign or all")
    return text


def _given_or_blank(schema: dict, pattern: str) -> None:
    """An optional field validate_contact_fields checks when given: text by its rule,
    or null or blank (not given)."""
    schema.pop("anyOf", None)
    schema["anyOf"] = [
        {"type": "string", "pattern": pattern},
        {"type": "string", "pattern": r"^\s*$"},
        {"type": "null"},
    ]


class ContactIn(Schema):
    campaignId: int
    crmCampaignId: str | None = Field(default=None, max_length=MAX_TEXT)
    # validate_contact_fields requires phone1 (every adapter); the API states it
    phone1: PhoneText = Field(max_length=64, json_schema_extra=phone_schema)
    phone2: PhoneText | None = Field(
        default=None, max_length=64, json_schema_extra=optional_phone_schema
    )
    phone3: PhoneText | None = Field(
        default=None, max_length=64, json_schema_extra=optional_phone_schema
    )
    phone4: PhoneText | None = Field(
        default=None, max_length=64, json_schema_extra=optional_phone_schema
    )
    phone5: PhoneText | None = Field(
        default=None, max_length=64, json_schema_extra=optional_phone_schema
    )
    duplicateCallbacks: str = Field(
        default="allow", json_schema_extra={"pattern": words_pattern(("allow", "deny"))}
    )
    duplicateScope: str = Field(
        default="campaign",
        json_schema_extra={"pattern": words_pattern(DUPLICATE_SCOPES)},
        description="with duplicateCallbacks deny: campaign (open contacts of this "
        "campaign) or all (open contacts of every campaign)",
    )
    priority: int | None = Field(
        default=None, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="higher first"
    )
    timeZone: str | None = Field(
        default=None,
        max_length=64,
        description="the person's IANA time zone (America/Chicago); the calling "
        "rules use it instead of the number's",
        json_schema_extra=lambda s: _given_or_blank(s, time_zone_pattern()),
    )
    region: str | None = Field(
        default=None,
        max_length=10,
        description='the person\'s rule region, ISO 3166 ("US", "US-FL"); the '
        "calling rules use it instead of the number's",
        json_schema_extra=lambda s: _given_or_blank(s, region_pattern()),
    )
    dialTime: str | None = Field(
        default=None,
        max_length=40,
        json_schema_extra=lambda s: _given_or_blank(s, DIAL_TIME_PATTERN),
    )
    businessParam1: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam2: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam3: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam4: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam5: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam6: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam7: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam8: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam9: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam10: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam11: str | None = Field(default=None, max_length=MAX_TEXT)
    businessParam12: str | None = Field(default=None, max_length=MAX_TEXT)

    @field_validator("duplicateCallbacks", mode="before")
    @classmethod
    def _policy(cls, v: Any) -> str:
        text = ("" if v is None else str(v).strip().lower()) or "allow"  # blank
        if text not in ("allow", "deny"):
            raise ValueError("must be allow or deny")
        return text

    _scope = field_validator("duplicateScope", mode="before")(
        lambda cls, v: check_duplicate_scope(v)
    )


class ContactRow:
    """One contact's fields after validation, ready to insert (bulk import too)."""

    __slots__ = (
        "values",
        "match_key",
        "dial_time",
        "priority",
        "other_keys",
        "time_zone",
        "region",
    )

    def __init__(
        self,
        values: dict[str, Any],
        match_key: str,
        dial_time: datetime,
        priority: int = 0,
        other_keys: tuple[str, ...] = (),
        time_zone: str | None = None,
        region: str | None = None,
    ) -> None:
        self.values = values
        self.match_key = match_key
        self.dial_time = dial_time
        self.priority = priority
        # the match keys of phone2-phone5, for duplicates within one file
        self.other_keys = other_keys
        self.time_zone = time_zone  # the person's zone and rule region, if given
        self.region = region


_PHONE, _PARAM, _TIME, _CHECKED = 0, 1, 2, 3
_FIELD_SPECS: dict[str, tuple[int, str]] = {
    **{name: (_PHONE, name) for name in PHONES},
    **{
        f"businessParam{i}": (_PARAM, c) for i, c in enumerate(BUSINESS_PARAMS, start=1)
    },
    "dialTime": (_TIME, "dialTime"),
    "priority": (_CHECKED, "priority"),
    "timeZone": (_CHECKED, "time_zone"),
    "region": (_CHECKED, "region"),
}
_FIELD_ORDER = {name: i for i, name in enumerate(_FIELD_SPECS)}
_NO_VALUES: dict[str, Any] = {column: None for column in (*PHONES, *BUSINESS_PARAMS)}
_UTC = ZoneInfo("UTC")


CISCO_DIALERS = ("ucce", "uccx", "file")


def _cisco_plus_prefix() -> str | None:
    """ECM_CISCO_PLUS_PREFIX when a Cisco dialer is configured, else None."""
    if not has_app_context():
        return None
    config = current_app.config
    if str(config.get("ECM_DIALER") or "").lower() not in CISCO_DIALERS:
        return None
    return config.get("ECM_CISCO_PLUS_PREFIX") or None


def validate_contact_fields(
    fields: dict[str, Any],
    campaign: Campaign,
    now: datetime | None = None,
    *,
    region: str | None = None,
) -> ContactRow:
    """Check phones, params and dial time of one contact; one rule for API, portal, CSV.

    `fields` uses the seed's names (phone1..5, businessParam1..12, dialTime); other
    keys are ignored, and None or "" means "not given". Raises ValidationFailed naming
    each bad field. Bulk imports pass `region` and `now` once per file: this runs for
    every row of a million-row upload, so it only visits the fields that were given.
    """
    errors: dict[str, str] = {}
    row = ContactRow(_NO_VALUES.copy(), "", now or utcnow())
    if region is None:
        region = dnc.region()
    raw_time = _read_fields(fields, row, errors, region, _cisco_plus_prefix())
    if row.values["phone1"] is None and "phone1" not in errors:
        errors["phone1"] = "is required"
    if raw_time is not None:
        row.dial_time = _dial_time(raw_time, campaign, row.dial_time, errors)
    if errors:
        _refuse(errors)
    return row


def _read_fields(
    fields: dict[str, Any],
    row: ContactRow,
    errors: dict[str, str],
    region: str,
    plus_prefix: str | None,
) -> Any:
    """Fill `row` from the given fields, noting bad ones in `errors`; the raw dialTime.

    One loop over what was given (hot: once per row of a bulk upload)."""
    values = row.values
    others: list[str] = []
    raw_time = None
    normalise = phones.normalise
    specs = _FIELD_SPECS
    for name, raw in fields.items():
        spec = specs.get(name)
        if spec is None or raw is None or raw == "":
            continue
        kind, column = spec
        if kind == _PHONE:
            try:
                cleaned, match = normalise(raw, region)
            except phones.InvalidNumber as exc:
                errors[name] = str(exc)
                continue
            if plus_prefix and (problem := cisco_length_problem(cleaned, plus_prefix)):
                errors[name] = problem
                continue
            values[column] = cleaned
            if column == "phone1":
                row.match_key = match
            else:
                others.append(match)
        elif kind == _PARAM:
            text = raw if raw.__class__ is str else str(raw)
            if len(text) > MAX_TEXT:
                errors[name] = f"is longer than {MAX_TEXT} characters"
            values[column] = text
        elif kind == _TIME:
            raw_time = raw
        else:
            try:
                setattr(row, column, _CHECKS[column](raw))
            except ValueError as exc:
                errors[name] = str(exc)
    if others:
        row.other_keys = tuple(others)
    return raw_time


def check_priority(raw: Any) -> int:
    """A contact priority: a whole number within +-MAX_PRIORITY (higher first)."""
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.lstrip("+-").isdigit():
        raise ValueError("must be a whole number")
    value = int(text)
    if abs(value) > MAX_PRIORITY:
        raise ValueError(f"must be between -{MAX_PRIORITY} and {MAX_PRIORITY}")
    return value


_CHECKS = {
    "priority": check_priority,
    "time_zone": check_time_zone,
    "region": check_region,
}


def _dial_time(
    raw: Any, campaign: Campaign, default: datetime, errors: dict[str, str]
) -> datetime:
    """The given dialTime, in the campaign's zone, as naive UTC (else `default`)."""
    try:
        local = parse_dial_time(raw)
        zone = ZoneInfo(campaign.time_zone or "UTC")
        if zone is _UTC:
            return local
        return local.replace(tzinfo=zone).astimezone(_UTC).replace(tzinfo=None)
    except ValueError as exc:
        errors["dialTime"] = str(exc)
        return default


def _refuse(errors: dict[str, str]) -> None:
    """Raise ValidationFailed with the bad fields in the seed's field order."""
    if len(errors) > 1:
        errors = dict(sorted(errors.items(), key=lambda item: _FIELD_ORDER[item[0]]))
    raise ValidationFailed(errors)


def first_attempt(campaign: Campaign):
    attempts = campaign.strategy.attempts if campaign.strategy else []
    return attempts[0] if attempts else None


def open_contact_keys(
    campaign_id: int, keys: Iterable[str], upload_id: int | None = None
) -> set[str]:
    """Which phone1 keys already have an open contact in the campaign (deny duplicates).

    A bulk upload also counts every contact it has itself added, in any state.
    """
    taken = Contact.request_state.in_(OPEN_STATES)
    if upload_id is not None:
        taken = or_(taken, Contact.upload_id == upload_id)
    return set(
        dnc.matching_keys(
            Contact.match_key, keys, Contact.campaign_id == campaign_id, taken
        )
    )


def has_open_contact(campaign_id: int, match_key: str) -> bool:
    return bool(open_contact_keys(campaign_id, [match_key]))


def _first_channel(campaign: Campaign) -> Channel:
    """The channel of a campaign without an attempt plan: SMS campaigns text."""
    return Channel.SMS if campaign.type == CampaignType.SMS else Channel.VOICE


def open_keys_anywhere(keys: Iterable[str]) -> set[str]:
    """Which keys have an open contact in any campaign (duplicateScope `all`)."""
    return set(
        dnc.matching_keys(
            Contact.match_key, keys, Contact.request_state.in_(OPEN_STATES)
        )
    )


def contact_defaults(
    campaign: Campaign, blocked: bool, now: datetime
) -> dict[str, Any]:
    """Columns a new contact starts with: the first attempt, or DNC-blocked."""
    attempt = first_attempt(campaign)
    return {
        "campaign_id": campaign.id,
        "crm_campaign_id": campaign.crm_campaign_id,
        "request_state": BLOCKED_DNC if blocked else PENDING,
        "call_result": RESULT_ON_DNC if blocked else 0,
        "attempt_id": attempt.id if attempt else None,
        "attempt_number": attempt.attempt_number if attempt else 1,
        "attempts_made": 0,
        "channel": attempt.channel if attempt else _first_channel(campaign),
        "date_created": now,
        "last_status_update_time": now if blocked else None,
    }


def new_contact_values(
    campaign: Campaign, row: ContactRow, blocked: bool
) -> dict[str, Any]:
    """Column values of a new contact: first strategy attempt, or DNC-blocked."""
    values = {**row.values, **contact_defaults(campaign, blocked, utcnow())}
    values["crm_campaign_id"] = (
        row.values.get("crm_campaign_id") or campaign.crm_campaign_id
    )
    values["match_key"] = row.match_key
    values["dial_time"] = row.dial_time
    return values


def insert_contact(actor: User, data: dict) -> Contact:
    """Add one contact to a campaign (insertCallback); a DNC number is kept, blocked."""
    require(actor, WRITERS)
    body = parse(ContactIn, data)
    campaign = campaigns.get_campaign(actor, body.campaignId, "campaignId")
    row = validate_contact_fields(body.model_dump(), campaign)
    if body.crmCampaignId:
        row.values["crm_campaign_id"] = body.crmCampaignId
    if body.duplicateCallbacks == "deny":
        if body.duplicateScope == "all" and open_keys_anywhere([row.match_key]):
            raise ValidationFailed(
                {"phone1": "already has an open contact in a campaign"},
                "Duplicate callback",
            )
        if has_open_contact(campaign.id, row.match_key):
            raise ValidationFailed(
                {"phone1": "already has an open contact in this campaign"},
                "Duplicate callback",
            )
    blocked = dnc.is_blocked(row.match_key)
    contact = Contact(**new_contact_values(campaign, row, blocked))
    contact.priority = row.priority
    contact.time_zone, contact.region = row.time_zone, row.region
    db.session.add(contact)
    db.session.flush()
    audit.record(
        actor,
        "create",
        "contact",
        contact.id,
        {"campaignId": campaign.id, "phone1": contact.phone1},
    )
    db.session.commit()
    return contact


def get_contact(actor: User, contact_id: Any) -> Contact:
    require(actor, READERS)
    cid = as_int(contact_id, "id")
    contact = db.session.get(Contact, cid)
    if contact is None:
        raise NotFound(f"Contact with id {cid} not found")
    return contact


def contact_history(actor: User, contact: Contact) -> list[ContactAttempt]:
    require(actor, READERS)
    return list(
        db.session.scalars(
            select(ContactAttempt)
            .where(ContactAttempt.contact_id == contact.id)
            .order_by(ContactAttempt.id)
        )
    )


class ListFilter(Schema):
    campaignId: int | None = None
    requestState: int | None = Field(default=None, ge=0, le=max(REQUEST_STATES))
    callResult: int | None = None
    phone: str | None = Field(default=None, max_length=64)
    page: int = Field(default=0, ge=0, le=10_000_000)
    size: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    max: int | None = Field(default=None, ge=1, le=MAX_PAGE)
    offset: int | None = Field(default=None, ge=0, le=100_000_000)
    afterId: int | None = None

    @field_validator("requestState")
    @classmethod
    def _state(cls, v: int | None) -> int | None:
        if v is not None and v not in REQUEST_STATES:
            raise ValueError("must be 0-7")
        return v


def _filtered(body: ListFilter):
    conds = []
    if body.campaignId is not None:
        conds.append(Contact.campaign_id == body.campaignId)
    if body.requestState is not None:
        conds.append(Contact.request_state == body.requestState)
    if body.callResult is not None:
        conds.append(Contact.call_result == body.callResult)
    if body.phone:
        try:
            _, key = dnc.phones.normalise(body.phone, dnc.region())
        except dnc.phones.InvalidNumber:
            key = body.phone
        conds.append(Contact.match_key == key)
    return conds


def list_contacts(actor: User, data: dict) -> tuple[list[Contact], int | None]:
    """getList: filter by campaign, state, result, number; page by page/size,
    max/offset or afterId."""
    require(actor, READERS)
    body = parse(ListFilter, data)
    if body.campaignId is not None:
        campaigns.get_campaign(actor, body.campaignId, "campaignId")
    conds = _filtered(body)
    size = body.max or body.size
    query = select(Contact).where(*conds).order_by(Contact.id).limit(size)
    if body.afterId is not None:
        query = query.where(Contact.id > body.afterId)
        total = None
    else:
        offset = body.offset if body.offset is not None else body.page * size
        items = list(db.session.scalars(query.offset(offset)))
        key = (
            "contacts",
            body.campaignId,
            body.requestState,
            body.callResult,
            body.phone,
        )
        total = paging.page_total(
            key,
            offset,
            size,
            len(items),
            lambda: db.session.scalar(
                select(func.count()).select_from(Contact).where(*conds)
            ),
        )
        return items, total
    return list(db.session.scalars(query)), total


def cancel_contact(actor: User, contact_id: Any) -> Contact:
    """Stop dialing a contact (state 7); closed contacts stay as they are."""
    require(actor, WRITERS)
    from portal.services.enums import CANCELLED

    contact = get_contact(actor, contact_id)
    if contact.request_state not in OPEN_STATES:
        raise ValidationFailed({"id": "contact is already closed"})
    changes = audit.diff(
        contact, {"request_state": CANCELLED, "last_status_update_time": utcnow()}
    )
    audit.record(actor, "cancel", "contact", contact.id, changes)
    db.session.commit()
    return contact
