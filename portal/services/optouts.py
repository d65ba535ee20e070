"""Opt-outs: a revocation of consent, honoured on every campaign once recorded.

The US rule (47 CFR 64.1200, FCC 24-24) gives a caller at most ten business days to
honour a do-not-call or revocation request; this product honours it at once (the
contacts are closed in the recording transaction and every later dial is checked), and
the report shows, per opt-out, when it was received, when it took effect, and whether
that was inside the deadline, so the timing can be shown to an auditor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from pydantic import Field, field_validator
from sqlalchemy import select

from portal.extensions import db
from portal.models import Campaign, Contact, OptOut, User, utcnow
from portal.services import audit, dnc, suppression
from portal.services.enums import BLOCKED_DNC, PENDING, RESULT_ON_DNC
from portal.services.errors import ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.suppression import ListChannel
from portal.services.validation import PhoneText, Schema, parse, phone_schema

SATURDAY = 5
SMS_CAMPAIGN = 2
REPORT_LIMIT = 10_000


class OptOutIn(Schema):
    number: PhoneText = Field(max_length=64, json_schema_extra=phone_schema)
    channel: ListChannel = ListChannel.BOTH
    receivedAt: datetime | None = Field(
        default=None,
        json_schema_extra=lambda s: s.update(
            anyOf=[suppression.INSTANT_SCHEMA, {"const": ""}, {"type": "null"}]
        ),
    )
    source: str | None = Field(default=None, max_length=dnc.SOURCE_MAX)

    _received = field_validator("receivedAt", mode="before")(
        lambda cls, v: suppression.parse_instant(v)
    )


class ReportQuery(Schema):
    receivedFrom: datetime | None = Field(default=None, alias="from")
    receivedTo: datetime | None = Field(default=None, alias="to")

    _moments = field_validator("receivedFrom", "receivedTo", mode="before")(
        lambda cls, v: suppression.parse_instant(v)
    )


def deadline_days() -> int:
    return int(current_app.config.get("ECM_OPT_OUT_DEADLINE_DAYS", 10))


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` business days (Monday to Friday) after `start`."""
    moment = start
    left = days
    while left > 0:
        moment += timedelta(days=1)
        if moment.weekday() < SATURDAY:
            left -= 1
    return moment


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole business days from `start` to `end` (0 when on the same day)."""
    count, day = 0, start.date()
    while day < end.date():
        day += timedelta(days=1)
        if day.weekday() < SATURDAY:
            count += 1
    return count


def _campaign_types(channel: str) -> tuple[int, ...]:
    if channel == ListChannel.SMS:
        return (SMS_CAMPAIGN,)
    if channel == ListChannel.VOICE:
        return (0, 1)
    return (0, 1, SMS_CAMPAIGN)


def close_pending(key: str, channel: str, now: datetime) -> int:
    """Close every pending contact whose phone1 is this key, on every campaign the
    channel covers (phone2-5 are caught by the dial-time check)."""
    campaigns = select(Campaign.id).where(Campaign.type.in_(_campaign_types(channel)))
    result = db.session.execute(
        Contact.__table__.update()
        .where(
            Contact.match_key == key,
            Contact.request_state == PENDING,
            Contact.campaign_id.in_(campaigns),
        )
        .values(
            request_state=BLOCKED_DNC,
            call_result=RESULT_ON_DNC,
            last_status_update_time=now,
        )
    )
    return result.rowcount or 0


def record_opt_out(actor: User, data: Any, now: datetime | None = None) -> OptOut:
    """Record a revocation and suppress the number at once on every campaign."""
    require(actor, WRITERS)
    now = now or utcnow()
    body = parse(OptOutIn, data, aliases={"primaryNumber": "number"})
    number, key = dnc.normalise(body.number, "number")
    received = body.receivedAt or now
    if received > now + timedelta(minutes=5):
        raise ValidationFailed({"receivedAt": "is in the future"})
    channel = ListChannel(body.channel).value
    closed = close_pending(key, channel, now)
    item = OptOut(
        number=number,
        match_key=key,
        channel=channel,
        received_at=received,
        effective_at=now,
        source=body.source,
        contacts_closed=closed,
        recorded_by=actor.id,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        actor,
        "opt_out",
        "opt_out",
        item.id,
        {"number": number, "channel": channel, "contactsClosed": closed},
    )
    db.session.commit()
    return item


def report(
    actor: User, data: dict | None = None, limit: int = REPORT_LIMIT
) -> list[dict[str, Any]]:
    """Opt-outs received in the range, with when each took effect and the deadline."""
    require(actor, READERS)
    query = parse(ReportQuery, data or {})
    select_ = select(OptOut).order_by(OptOut.received_at.desc(), OptOut.id.desc())
    if query.receivedFrom is not None:
        select_ = select_.where(OptOut.received_at >= query.receivedFrom)
    if query.receivedTo is not None:
        select_ = select_.where(OptOut.received_at < query.receivedTo)
    days = deadline_days()
    return [row_of(item, days) for item in db.session.scalars(select_.limit(limit))]


def row_of(item: OptOut, days: int) -> dict[str, Any]:
    deadline = add_business_days(item.received_at, days)
    taken = item.effective_at - item.received_at
    return {
        "id": item.id,
        "number": item.number,
        "channel": item.channel,
        "source": item.source,
        "receivedAt": _iso(item.received_at),
        "effectiveAt": _iso(item.effective_at),
        "secondsToEffect": max(0, int(taken.total_seconds())),
        "businessDaysToEffect": business_days_between(
            item.received_at, item.effective_at
        ),
        "deadline": _iso(deadline),
        "withinDeadline": item.effective_at <= deadline,
        "contactsClosed": item.contacts_closed,
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
