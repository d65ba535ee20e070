"""May this contact be dialed now, and if not, every reason why (one rule)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.models import Campaign, Contact, User, iso_z, utcnow
from portal.services import calling_rules, contact_filters, phones, suppression
from portal.services.calling_rules.codes import CAMPAIGN_RULE_CODES, RULE_REASONS
from portal.services.calling_rules.zones import zones_of
from portal.services.enums import (
    CAMPAIGN_STATUS,
    PENDING,
    REQUEST_STATES,
    CampaignStatus,
    CampaignType,
    Channel,
)
from portal.services.feed.plans import StrategyPlan, load_plan, load_plans, number_for
from portal.services.feed.windows import Window, campaign_window, local_time
from portal.services.roles import READERS, require

# Every reason the feed may not dial a contact, in the order they are shown.
REASONS: dict[str, str] = {
    "campaign_disabled": "Campaign is disabled",
    "campaign_paused": "Campaign is paused",
    "no_strategy_attempts": "The campaign's strategy has no attempts",
    "not_calling_day": "Today is not a calling day",
    "outside_window": "Outside the campaign's calling hours",
    "not_pending": "Contact is not pending",
    "not_due": "Contact is not due yet",
    "no_attempts_left": "No attempts left",
    "retry_expired": "The retry has expired",
    "no_dialable_number": "No dialable number",
    "on_dnc": "The number is on the do-not-call list",
    "contact_outside_window": "Outside calling hours in the contact's time zone",
    "abandon_rate": "The campaign's abandon rate crossed its maximum",
    "abandon_lockout": "The number had an abandoned call recently",
    "excluded_by_filter": "Left out by the campaign's contact filter",
}
REASONS.update(RULE_REASONS)
CAMPAIGN_REASONS = (
    "campaign_disabled",
    "campaign_paused",
    "no_strategy_attempts",
    "not_calling_day",
    "outside_window",
    *CAMPAIGN_RULE_CODES,
)


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    rule: str | None = None  # calling rules: the rule, its source, when it lifts
    source: str | None = None
    lifts_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "label": REASONS[self.code],
            "message": self.message,
        }
        if self.rule is not None:
            out["rule"] = self.rule
        if self.source is not None:
            out["source"] = self.source
        if self.lifts_at is not None:
            out["liftsAt"] = iso_z(self.lifts_at)
        return out


@dataclass
class Eligibility:
    """The answer for one contact: eligible only when there is no reason against."""

    contact_id: int
    checked_at: datetime
    reasons: list[Reason] = field(default_factory=list)
    number_to_call: str | None = None
    attempt_number: int | None = None
    channel: int | None = None
    time_zones: list[str] = field(default_factory=list)
    next_eligible_at: datetime | None = None
    never_because: str | None = None  # the reason code when next_eligible_at is None
    region: str | None = None  # the rule region the calling rules applied
    # where the zone and region came from: "contact", "number" or None (unknown)
    located_by: dict[str, str | None] = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        return not self.reasons


def campaign_blockers(
    campaign: Campaign, plan: StrategyPlan | None, now: datetime
) -> list[Reason]:
    """Reasons that stop every contact of the campaign: on/off, pause, days, hours."""
    reasons: list[Reason] = []
    if not campaign.enabled:
        reasons.append(Reason("campaign_disabled", "The campaign is switched off"))
    if campaign.status != CampaignStatus.RUNNING:
        reasons.append(
            Reason(
                "campaign_paused",
                f"Status is {CAMPAIGN_STATUS.get(campaign.status, campaign.status)}",
            )
        )
        if campaign.pause_reason:
            reasons.append(Reason("abandon_rate", campaign.pause_reason))
    if plan is None or not plan.by_number:
        reasons.append(Reason("no_strategy_attempts", "Add an attempt to the strategy"))
    window = campaign_window(campaign)
    local = local_time(now, campaign.time_zone)
    stamp = f"{local:%a %H:%M} {campaign.time_zone or 'UTC'}"
    if not window.calling_day(local):
        reasons.append(
            Reason(
                "not_calling_day",
                f"It is {stamp}; calling days are {campaign.week_days}",
            )
        )
    if not window.in_hours(local):
        reasons.append(
            Reason(
                "outside_window",
                f"It is {stamp}; calls run {campaign.start_time}-{campaign.end_time}",
            )
        )
    reasons.extend(_rule_reasons(calling_rules.campaign_blocks(campaign, now)))
    return reasons


def _rule_reasons(blocks) -> list[Reason]:
    return [
        Reason(b.code, b.message, b.rule, b.source, b.lifts_at)
        for b in blocks
        if b.code in RULE_REASONS
    ]


def region() -> str:
    return current_app.config.get("ECM_DEFAULT_REGION", "US")


def contact_zones(number: str, time_zone: str | None = None) -> list[str]:
    """The IANA zones the number may ring in ([] when unknown); the contact's own
    zone instead, when the integrator gave one."""
    if time_zone:
        return [time_zone]
    if not number:
        return []
    try:  # cached on the prefix phonenumbers decides by (calling_rules.zones)
        return list(zones_of(number, match_key(number), region()))
    except Exception:  # noqa: BLE001 - an odd number must not break a tick
        return []


def contact_window_open(window: Window, zones: Iterable[str], now: datetime) -> bool:
    """Open only if the window is open in ALL the number's zones (none known: open).

    A number that may ring in several zones (a North American area code spanning two)
    is dialed only when every one of them is inside the calling hours: calling one
    person too late is worse than calling a little later.
    """
    return all(window.open_at(local_time(now, name)) for name in zones)


def match_key(number: str) -> str:
    try:
        return phones.match_key(number, region())
    except Exception:  # noqa: BLE001
        return number


def evaluate(
    contact: Contact,
    campaign: Campaign,
    plan: StrategyPlan | None,
    now: datetime,
) -> Eligibility:
    """Every reason this contact cannot be dialed at `now` (none: it is eligible)."""
    answer = Eligibility(contact_id=contact.id, checked_at=now)
    answer.reasons.extend(campaign_blockers(campaign, plan, now))
    ruled_out = _what_to_dial(answer, contact, campaign, plan)
    answer.reasons.extend(_contact_reasons(contact, plan, now))
    if contact.callback_at is None and contact_filters.excludes(campaign, contact.id):
        answer.reasons.append(
            Reason(
                "excluded_by_filter",
                "The filter keeps " + contact_filters.describe(campaign.contact_filter),
            )
        )
    _number_reasons(answer, ruled_out, campaign, now, contact.time_zone)
    _apply_calling_rules(answer, contact, campaign, now)
    return answer


def _what_to_dial(
    answer: Eligibility, contact: Contact, campaign: Campaign, plan: StrategyPlan | None
) -> set[str] | None:
    """The number, attempt and channel the next dial would use, as the claim picks
    them; returns the numbers a result ruled out for this contact."""
    attempt = (
        plan.attempt_for(contact.attempt_id, contact.attempt_number) if plan else None
    )
    phones_ = {f"phone{i}": getattr(contact, f"phone{i}") for i in range(1, 6)}
    number = number_for(phones_, attempt)
    ruled_out = suppression.number_blocks([contact.id]).get(contact.id)
    number = suppression.pick_number(phones_, number, ruled_out)
    answer.number_to_call = number or None
    answer.attempt_number = attempt.number if attempt else contact.attempt_number
    if campaign.type == CampaignType.SMS:
        answer.channel = Channel.SMS
    else:
        answer.channel = attempt.channel if attempt else contact.channel
    return ruled_out


def _contact_reasons(
    contact: Contact, plan: StrategyPlan | None, now: datetime
) -> list[Reason]:
    """The contact's own state: pending, due, attempts left, retry not expired."""
    reasons = []
    if contact.request_state != PENDING:
        state = REQUEST_STATES.get(contact.request_state, str(contact.request_state))
        reasons.append(Reason("not_pending", f"Request state is {state}"))
    if contact.dial_time and contact.dial_time > now:
        reasons.append(Reason("not_due", f"Due at {iso_z(contact.dial_time)}"))
    max_attempts = plan.max_attempts if plan else 0
    if contact.attempts_made >= max_attempts:
        reasons.append(
            Reason(
                "no_attempts_left",
                f"{contact.attempts_made} of {max_attempts} attempts made",
            )
        )
    if contact.expires_at is not None and contact.expires_at <= now:
        reasons.append(
            Reason("retry_expired", f"Expired at {iso_z(contact.expires_at)}")
        )
    return reasons


def _number_reasons(
    answer: Eligibility,
    ruled_out: set[str] | None,
    campaign: Campaign,
    now: datetime,
    time_zone: str | None = None,
) -> None:
    """No number left, or the number's suppressions and contact-zone window."""
    number = answer.number_to_call
    if not number:
        why = (
            "every phone was ruled out by a result" if ruled_out else "phone1 is empty"
        )
        answer.reasons.append(Reason("no_dialable_number", why))
        return
    answer.reasons.extend(suppression_reasons(number, campaign.id, answer.channel, now))
    if campaign.respect_contact_time_zone:
        answer.time_zones = contact_zones(number, time_zone)
        window = campaign_window(campaign)
        closed = [
            f"{local_time(now, z):%a %H:%M} {z}"
            for z in answer.time_zones
            if not window.open_at(local_time(now, z))
        ]
        if closed:
            answer.reasons.append(
                Reason("contact_outside_window", "It is " + ", ".join(closed))
            )


def suppression_reasons(
    number: str, campaign_id: int, channel: int, now: datetime
) -> list[Reason]:
    """DNC lists, opt-outs, erasures and abandoned-call lockouts of one number."""
    key = match_key(number)
    reasons = []
    hit = suppression.hits([key], campaign_id, channel, now).get(key)
    if hit is not None:
        text = f"{number} is on {hit.label}" + (
            f" until {iso_z(hit.until)}" if hit.until else ""
        )
        reasons.append(Reason("on_dnc", text, lifts_at=hit.until))
    until = suppression.lockouts([key], now).get(key)
    if until is not None:
        reasons.append(
            Reason(
                "abandon_lockout", f"Locked out until {iso_z(until)}", lifts_at=until
            )
        )
    return reasons


def _apply_calling_rules(
    answer: Eligibility, contact: Contact, campaign: Campaign, now: datetime
) -> None:
    """Issue #12's reasons (number and zone rules) and the next moment to dial."""
    rules = calling_rules.contact_rules(
        campaign,
        answer.number_to_call,
        contact.dial_time,
        now,
        time_zone=contact.time_zone,
        region=contact.region,
    )
    answer.region = rules.region
    answer.located_by = {
        "timeZone": _given_or_number(contact.time_zone, rules.zones),
        "region": _given_or_number(contact.region, rules.region),
    }
    if answer.number_to_call and rules.rules_on:
        own = {"campaign_not_started", "campaign_ended"}  # campaign_blockers has them
        answer.reasons.extend(
            r for r in _rule_reasons(rules.blocks(now)) if r.code not in own
        )
        if not answer.time_zones:
            answer.time_zones = list(rules.zones)
    if answer.eligible:
        answer.next_eligible_at = now
        return
    answer.next_eligible_at, answer.never_because = calling_rules.next_dial(
        rules, answer.reasons, now, contact.expires_at
    )


def _given_or_number(given: str | None, derived) -> str | None:
    """Where a contact's zone or region came from: the contact, its number, or none."""
    if given:
        return "contact"
    return "number" if derived else None


def contact_eligibility(contact: Contact, now: datetime | None = None) -> Eligibility:
    """The answer for one contact, loading its campaign and strategy."""
    campaign = db.session.get(Campaign, contact.campaign_id)
    plan = load_plan(campaign.strategy_id) if campaign else None
    return evaluate(contact, campaign, plan, now or utcnow())


def explain(actor: User, contact_id: Any, now: datetime | None = None) -> Eligibility:
    """GET .../callback/<id>/eligibility: the answer for a contact the actor may see."""
    require(actor, READERS)
    from portal.services import contacts

    return contact_eligibility(contacts.get_contact(actor, contact_id), now)


def as_dict(answer: Eligibility) -> dict[str, Any]:
    return {
        "id": answer.contact_id,
        "eligible": answer.eligible,
        "checkedAt": iso_z(answer.checked_at),
        "numberToCall": answer.number_to_call,
        "attemptNumber": answer.attempt_number,
        "channel": answer.channel,
        "timeZones": answer.time_zones,
        "region": answer.region,
        "timeZoneFrom": answer.located_by.get("timeZone"),
        "regionFrom": answer.located_by.get("region"),
        "reasons": [r.as_dict() for r in answer.reasons],
        "nextEligibleAt": (
            iso_z(answer.next_eligible_at) if answer.next_eligible_at else None
        ),
        "neverEligibleBecause": answer.never_because,
    }


# -- why is nothing dialing: per-campaign counts from SQL aggregates ------------


def contact_reason_counts(
    campaigns: list[Campaign],
    now: datetime,
    plans: dict[int, StrategyPlan] | None = None,
) -> dict[int, dict[str, int]]:
    """Pending contacts per contact-level reason, one index-backed aggregate each.

    Not due (ix_contacts_due), retry expired (partial ix_contacts_expiry) and no
    attempts left (partial ix_contacts_spent). A pending contact whose phone1 is on the
    DNC list is closed when the entry is added or the contact uploaded, and the
    contact-time-zone and phone2-5 DNC checks happen at dial time: not counted here.
    """
    if not campaigns:
        return {}
    ids = [c.id for c in campaigns]
    plans = plans if plans is not None else load_plans(c.strategy_id for c in campaigns)
    not_due = _count_by_campaign(
        select(Contact.campaign_id, func.count())
        .where(
            Contact.campaign_id.in_(ids),
            Contact.request_state == PENDING,
            Contact.dial_time > now,
        )
        .group_by(Contact.campaign_id)
    )
    expired = _count_by_campaign(
        select(Contact.campaign_id, func.count())
        .where(
            Contact.campaign_id.in_(ids),
            text("request_state = 0 AND expires_at IS NOT NULL"),
            Contact.expires_at <= now,
        )
        .group_by(Contact.campaign_id)
    )
    out: dict[int, dict[str, int]] = {}
    for campaign in campaigns:
        plan = plans.get(campaign.strategy_id)
        spent = db.session.scalar(
            text(
                "SELECT count(*) FROM contacts WHERE campaign_id = :c "
                "AND request_state = 0 AND attempts_made >= :m"
            ),
            {"c": campaign.id, "m": plan.max_attempts if plan else 0},
        )
        out[campaign.id] = {
            "not_due": not_due.get(campaign.id, 0),
            "no_attempts_left": spent or 0,
            "retry_expired": expired.get(campaign.id, 0),
            "excluded_by_filter": contact_filters.excluded_count(campaign),
            **calling_rules.rule_counts(campaign, now),
        }
    return out


def summarise(
    campaign: Campaign,
    plan: StrategyPlan | None,
    now: datetime,
    pending: int,
    counts: dict[str, int],
) -> dict[str, Any]:
    """The "why is nothing dialing" answer from counts: campaign-wide reasons hold
    every pending contact; `dialableNow` is pending minus the contact reasons (an
    estimate: one contact may have two reasons)."""
    reasons: dict[str, int] = {}
    blockers = campaign_blockers(campaign, plan, now)
    for reason in blockers:
        reasons[reason.code] = pending
    for code, count in counts.items():
        if count and code in REASONS and code not in reasons:
            reasons[code] = count
    held = sum(v for k, v in reasons.items() if k not in CAMPAIGN_REASONS)
    next_at, never = (
        calling_rules.campaign_next(campaign, blockers, now)
        if blockers
        else (now, None)
    )
    return {
        "pending": pending,
        "dialableNow": 0 if blockers else max(0, pending - held),
        "nextEligibleAt": iso_z(next_at) if next_at else None,
        "neverEligibleBecause": never,
        "campaignBlocked": [r.as_dict() for r in blockers],
        "reasons": [
            {"code": code, "label": REASONS[code], "count": count}
            for code, count in reasons.items()
        ],
    }


def summary(
    campaigns: list[Campaign], now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Pending contacts per reason for each campaign (SQL aggregates, no row loops)."""
    now = now or utcnow()
    if not campaigns:
        return {}
    plans = load_plans(c.strategy_id for c in campaigns)
    pending = _count_by_campaign(
        select(Contact.campaign_id, func.count())
        .where(
            Contact.campaign_id.in_([c.id for c in campaigns]),
            Contact.request_state == PENDING,
        )
        .group_by(Contact.campaign_id)
    )
    counts = contact_reason_counts(campaigns, now, plans)
    return {
        c.id: summarise(
            c, plans.get(c.strategy_id), now, pending.get(c.id, 0), counts[c.id]
        )
        for c in campaigns
    }


def _count_by_campaign(query) -> dict[int, int]:
    return {cid: count for cid, count in db.session.execute(query).all()}
