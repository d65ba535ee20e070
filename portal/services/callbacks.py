"""Customer callbacks: "call me back at four", from the dialer or set in the portal.

A result 14 (customer callback) or 15 (answering-machine callback) that carries a
requested time (Cisco Outbound Option's personal callback time) schedules the
contact at that time instead of the retry rule's delay; so does a time a manager
sets on the contact's page. The claim takes due callbacks ahead of the campaign's
dialOrder and its contact filter (the customer asked), but inside the calling window
and every dial-time check. The strategy's maxAttempts still caps the dials: a
callback requested on the last allowed attempt closes the contact as state 3.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from portal.extensions import db
from portal.models import Campaign, Contact, User, utcnow
from portal.services import audit
from portal.services.enums import MAX_ATTEMPTS, PENDING
from portal.services.errors import ValidationFailed
from portal.services.roles import WRITERS, require
from portal.services.validation import Schema, parse, parse_dial_time

CUSTOMER_CALLBACK = 14
MACHINE_CALLBACK = 15
CALLBACK_CODES = frozenset({CUSTOMER_CALLBACK, MACHINE_CALLBACK})
REOPENABLE = (PENDING, 2, 3, 4)  # pending, completed, max attempts, expired
_UTC = ZoneInfo("UTC")


def requested_time(text: str | None, zone: str | None) -> datetime | None:
    """A callback time as naive UTC: ISO with a Z is UTC, else the campaign's zone."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    local = parse_dial_time(raw)
    if raw.endswith("Z") or (zone or "UTC") == "UTC":
        return local
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(_UTC).replace(tzinfo=None)


def apply_requested(outcome: Any, code: int, requested: datetime | None, now: datetime):
    """The retry rules' outcome, moved to the customer's time for results 14 and 15.

    Returns (outcome, callback_at). The cap still closes (state 3).
    """
    if requested is None or code not in CALLBACK_CODES or outcome.state == MAX_ATTEMPTS:
        return outcome, None
    when = max(requested, now)
    moved = replace(
        outcome, state=PENDING, dial_time=when, expires_at=None, why="customer callback"
    )
    return moved, when


class CallbackIn(Schema):
    """Schedule a callback: `callbackTime` in the campaign's zone (or ISO with Z)."""

    id: int
    callbackTime: str = Field(max_length=40)


def schedule_callback(actor: User, data: Any, now: datetime | None = None) -> Contact:
    """Set a contact's callback time from the portal or the API (audited)."""
    require(actor, WRITERS)
    from portal.services import contacts
    from portal.services.feed.plans import load_plan

    body = parse(CallbackIn, data)
    contact = contacts.get_contact(actor, body.id)
    campaign = db.session.get(Campaign, contact.campaign_id)
    try:
        when = requested_time(body.callbackTime, campaign.time_zone)
    except ValueError as exc:
        raise ValidationFailed({"callbackTime": str(exc)}) from None
    now = now or utcnow()
    if when is None or when < now:
        raise ValidationFailed({"callbackTime": "must be in the future"})
    if contact.request_state not in REOPENABLE:
        raise ValidationFailed(
            {"id": f"contact {contact.id} cannot be called back in its state"}
        )
    plan = load_plan(campaign.strategy_id)
    if plan is None or contact.attempts_made >= plan.max_attempts:
        raise ValidationFailed(
            {"id": "no attempts left: recycle the contact first"}, "No attempts left"
        )
    changes = audit.diff(
        contact,
        {
            "request_state": PENDING,
            "dial_time": when,
            "callback_at": when,
            "expires_at": None,
            "last_status_update_time": now,
        },
    )
    audit.record(actor, "callback", "contact", contact.id, changes)
    db.session.commit()
    return contact
