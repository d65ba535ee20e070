"""Calling rules that keep a contact center lawful (issue #12).

Frequency caps and minimum gaps per number across campaigns (caps.py, in SQL),
restricted dates (dates.py), regional calling hours from law (regions.py), campaign
dates, and the moment a contact will next be dialed (nextdial.py). The feed's claim
and eligibility answer call the functions here; ECM_CALLING_RULES turns the rules
off (the campaign window, contact zones and due times still apply).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, g
from sqlalchemy import case, func, select

from portal.extensions import db
from portal.models import Campaign, Contact
from portal.services import phones, preferences
from portal.services.calling_rules import caps
from portal.services.calling_rules.checks import (
    Block,
    ContactRules,
    campaign_date_blocks,
)
from portal.services.calling_rules.codes import CAMPAIGN_RULE_CODES, RULE_REASONS
from portal.services.calling_rules.nextdial import earliest
from portal.services.calling_rules.policy import (
    CallingPolicy,
    enabled,
    policy_for,
    safe_window,
)
from portal.services.calling_rules.regions import REGIONAL_RULES
from portal.services.calling_rules.zones import located, regional_rule, zones_of

__all__ = [
    "CAMPAIGN_RULE_CODES",
    "REGIONAL_RULES",
    "RULE_REASONS",
    "Block",
    "ClaimRules",
    "campaign_blocks",
    "campaign_next",
    "contact_rules",
    "enabled",
    "next_dial",
    "rule_counts",
]

# reasons the next-dial search re-evaluates at every instant
TIME_CODES = frozenset(
    {"not_calling_day", "outside_window", "contact_outside_window", "not_due"}
    | (set(RULE_REASONS) - {"campaign_ended"})
)
CAMPAIGN_TIME_CODES = frozenset(
    {"not_calling_day", "outside_window", "campaign_not_started"}
)
MIDNIGHT = time(0, 0)


def _region() -> str:
    return current_app.config.get("ECM_DEFAULT_REGION", "US")


def _key(number: str, region: str | None = None) -> str:
    try:
        return phones.match_key(number, region or _region())
    except Exception:  # noqa: BLE001 - an odd stored number keeps its digits
        return number


def campaign_policy(campaign: Campaign, now: datetime | None = None) -> CallingPolicy:
    """The campaign's policy; with `now`, the preferences are read once per tick."""
    if now is None:
        return policy_for(campaign, preferences.current())
    cached = g.get("calling_rules_prefs")
    if cached is None or cached[0] != now:
        cached = (now, preferences.current())
        g.calling_rules_prefs = cached
    return policy_for(campaign, cached[1])


def campaign_blocks(campaign: Campaign, now: datetime) -> list[Block]:
    """Campaign-wide rules: not started yet, or ended (its zone, dates inclusive)."""
    if not enabled():
        return []
    return campaign_date_blocks(campaign, campaign_policy(campaign, now), now)


def contact_rules(
    campaign: Campaign,
    number: str | None,
    due: datetime | None,
    now: datetime,
    time_zone: str | None = None,
    region: str | None = None,
) -> ContactRules:
    """One contact's rules, with its number's recent dials read once; `time_zone`
    and `region` are the contact's own, when given."""
    on = enabled()
    key = _key(number) if number else ""
    zones, region, rule = located(number, key, _region(), time_zone, region)
    return ContactRules(
        campaign=campaign,
        policy=campaign_policy(campaign),
        rules_on=on,
        zones=zones,
        region=region,
        region_rule=rule,
        dials=caps.recent_dials(key, now) if on and key else (),
        due=due,
    )


def _zone_times(ctx: ContactRules) -> dict[str, set[time]]:
    times: dict[str, set[time]] = {ctx.campaign.time_zone: {MIDNIGHT, ctx.window.start}}
    for z in ctx.zones:
        entry = times.setdefault(z, set())
        entry.add(MIDNIGHT)
        if ctx.campaign.respect_contact_time_zone:
            entry.add(ctx.window.start)
        if ctx.rules_on and ctx.region_rule is not None:
            entry.add(ctx.region_rule.start)
    if ctx.rules_on and not ctx.zones:
        safe, safe_zone = safe_window()
        times.setdefault(safe_zone, set()).add(safe.start)
    return times


def next_dial(
    ctx: ContactRules, reasons: list, now: datetime, expires_at: datetime | None
) -> tuple[datetime | None, str | None]:
    """(nextEligibleAt, None) or (None, the code of the reason it never will be)."""
    lifts = []
    for reason in reasons:
        if reason.code in TIME_CODES:
            continue
        lifted = getattr(reason, "lifts_at", None)
        if lifted is None:
            return None, reason.code
        lifts.append(lifted)
    floor = max(lifts, default=None)
    moments = [ctx.due, floor]
    if ctx.dials:
        moments += [d + timedelta(hours=h) for d in ctx.dials for h in _cap_hours(ctx)]
        if ctx.policy.min_gap_minutes:
            moments.append(ctx.dials[0] + timedelta(minutes=ctx.policy.min_gap_minutes))

    def blocks_at(t: datetime) -> list:
        if floor is not None and t < floor:
            return [floor]
        return ctx.blocks(t)

    found = earliest(
        now,
        blocks_at,
        _zone_times(ctx),
        moments,
        until=expires_at,
        start_after=ctx.policy.start_date if ctx.rules_on else None,
    )
    if found is not None:
        return found, None
    if expires_at is not None:
        return None, "retry_expired"
    blocking = ctx.blocks(now)
    return None, blocking[0].code if blocking else "outside_window"


def campaign_next(
    campaign: Campaign, reasons: list, now: datetime
) -> tuple[datetime | None, str | None]:
    """The earliest instant the campaign itself may dial (its window and dates)."""
    for reason in reasons:
        if reason.code not in CAMPAIGN_TIME_CODES:
            return None, reason.code
    ctx = ContactRules(campaign, campaign_policy(campaign), enabled(), (), None, None)

    def blocks_at(t: datetime) -> list:
        return ctx.window_blocks(t) + (
            campaign_date_blocks(campaign, ctx.policy, t) if ctx.rules_on else []
        )

    found = earliest(
        now,
        blocks_at,
        {campaign.time_zone: {MIDNIGHT, ctx.window.start}},
        [],
        start_after=ctx.policy.start_date if ctx.rules_on else None,
    )
    return (found, None) if found else (None, reasons[0].code if reasons else None)


def _cap_hours(ctx: ContactRules) -> set[int]:
    hours = set()
    if ctx.policy.cap is not None:
        hours.add(ctx.policy.cap.hours)
    if ctx.region_rule is not None and ctx.region_rule.cap_hours:
        hours.add(ctx.region_rule.cap_hours)
    return hours


class ClaimRules:
    """The rules one claim applies: SQL filters, a per-row zone check, quotas."""

    def __init__(self, campaign: Campaign, plan, now: datetime) -> None:
        self.on = enabled()
        self.campaign = campaign
        self.now = now
        self.skipped = 0
        self._decided: dict[tuple, bool] = {}
        self._where: dict[str, tuple[str, str | None]] = {}  # number -> key, region
        self.region = _region()
        if not self.on:
            return
        self.policy = campaign_policy(campaign, now)
        self.limits, self.gap = caps.limits_for(self.policy)
        # the candidate query can filter on contacts.match_key (phone1's key) only
        # when every attempt dials phone1
        self.phone1_only = all(a.phone == "1" for a in plan.by_id.values())

    def filters(self) -> list:
        if not self.on or not self.phone1_only:
            return []
        return caps.key_filters(self.limits, self.gap, Contact.match_key, self.now)

    def allows(
        self, number: str, time_zone: str | None = None, region: str | None = None
    ) -> bool:
        """Regional hours, unknown zone and restricted dates for this number now, in
        the contact's own zone and region when given (else the number's)."""
        if not self.on or not number:
            return True
        key = _key(number, self.region)
        given = region
        zones, region, rule = located(number, key, self.region, time_zone, given)
        if not given:  # the number's own region, for record() and admit()
            self._where[number] = (key, region)
        decided = self._decided.get((zones, region))
        if decided is None:
            ctx = ContactRules(self.campaign, self.policy, True, zones, region, rule)
            decided = not ctx.zone_blocks(self.now)
            self._decided[(zones, region)] = decided
        if not decided:
            self.skipped += 1
        return decided

    def _region_of(self, key: str, number: str | None = None) -> str | None:
        known = self._where.get(number) if number else None
        if known is not None and known[0] == key:
            return known[1]
        return regional_rule(key, self.region)[0]

    def admit(self, chosen: list, keys: dict[str, str]) -> list:
        """The chosen (row, attempt, number) the caps leave room for, in order."""
        if not self.on:
            return chosen
        capped = {r for limit in self.limits for r in (limit.regions or ())}
        regions: dict[str, str | None] = {}
        for row, _, number in chosen:
            if number:  # a contact's own region first; a capped one wins a tie
                key = keys[number]
                region = getattr(row, "region", None) or self._region_of(key, number)
                if key not in regions or region in capped:
                    regions[key] = region
        room = caps.quotas(self.limits, self.gap, regions, self.now)
        kept = []
        for item in chosen:
            number = item[2]
            if number:
                key = keys[number]
                if room.get(key, 0) <= 0:
                    self.skipped += 1
                    continue
                room[key] -= 1
            kept.append(item)
        return kept

    def record(
        self, dispatched: list[tuple[int, str, str | None]], keys: dict[str, str]
    ) -> None:
        """Log the batch's dials (contact id, number, the contact's own region or
        None) in the claim's transaction."""
        if not self.on:
            return
        caps.record_dials(
            [
                {
                    "contact_id": cid,
                    "campaign_id": self.campaign.id,
                    "match_key": keys[number][:32],
                    "region": given or self._region_of(keys[number], number),
                }
                for cid, number, given in dispatched
            ],
            self.now,
        )


def forget_dials(contact_ids: list[int], now: datetime) -> None:
    caps.forget_dials(contact_ids, now)


def prune_dial_log(now: datetime) -> int:
    return caps.prune(now)


def rule_counts(campaign: Campaign, now: datetime) -> dict[str, int]:
    """Pending due contacts per rule for the dashboard (SQL aggregates).

    Caps and gaps count phone1's key from the dial log; zone rules are decided once
    per area code (North America) or first seven digits (elsewhere), from one number
    of each group: an estimate, like the other counts, where an area code spans two
    zones (the claim and the contact's own answer decide per number).
    """
    if not enabled():
        return {}
    policy = campaign_policy(campaign, now)
    limits, gap = caps.limits_for(policy)
    out = caps.held_counts(campaign.id, limits, gap, now)
    prefix = case(
        (Contact.match_key.like("+1%"), func.substr(Contact.match_key, 1, 5)),
        else_=func.substr(Contact.match_key, 1, 8),
    )
    groups = db.session.execute(
        select(func.min(Contact.match_key), func.count())
        .where(
            Contact.campaign_id == campaign.id,
            Contact.request_state == 0,
            Contact.dial_time <= now,
        )
        .group_by(prefix)
    ).all()
    region_code = _region()
    decided: dict[tuple, set[str]] = {}
    for example, count in groups:
        zones = zones_of(example, example, region_code)
        region, rule = regional_rule(example, region_code)
        codes = decided.get((zones, region))
        if codes is None:
            ctx = ContactRules(campaign, policy, True, zones, region, rule)
            codes = decided[(zones, region)] = {b.code for b in ctx.zone_blocks(now)}
        for code in codes:
            out[code] = out.get(code, 0) + count
    return out
