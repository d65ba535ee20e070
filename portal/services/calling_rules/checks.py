"""The calling rules at one instant: which block a dial, and when each one lifts.

`ContactRules` gathers what one contact's rules need (zones, region, the number's
recent dials, the campaign's window and policy) once; `blocks(t)` then answers for
any instant t without touching the database, so the next-dial search (nextdial.py)
can ask it at every candidate moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.models import Campaign, iso_z
from portal.services.calling_rules.policy import CallingPolicy, safe_window
from portal.services.calling_rules.regions import RegionRule
from portal.services.feed.windows import Window, campaign_window, local_time


@dataclass(frozen=True)
class Block:
    """One rule against a dial at an instant; `lifts_at` None means not by itself."""

    code: str
    message: str
    rule: str | None = None
    source: str | None = None
    lifts_at: datetime | None = None


def campaign_date_blocks(
    campaign: Campaign, policy: CallingPolicy, t: datetime
) -> list[Block]:
    """startDate and endDate, both inclusive, in the campaign's zone."""
    today = local_time(t, campaign.time_zone).date()
    out = []
    if policy.start_date and today < policy.start_date:
        out.append(
            Block(
                "campaign_not_started",
                f"Starts {policy.start_date} ({campaign.time_zone})",
                rule=f"startDate {policy.start_date}",
                source=f"campaign {campaign.id}",
                lifts_at=local_midnight_utc(policy.start_date, campaign.time_zone),
            )
        )
    if policy.end_date and today > policy.end_date:
        out.append(
            Block(
                "campaign_ended",
                f"Ended {policy.end_date} ({campaign.time_zone})",
                rule=f"endDate {policy.end_date}",
                source=f"campaign {campaign.id}",
            )
        )
    return out


def local_midnight_utc(day, zone_name: str | None) -> datetime:
    from portal.services.calling_rules.nextdial import utc_of_local

    return utc_of_local(datetime(day.year, day.month, day.day), zone_name)


@dataclass
class ContactRules:
    """Everything one contact's time-dependent rules need, gathered once."""

    campaign: Campaign
    policy: CallingPolicy
    rules_on: bool
    zones: tuple[str, ...]
    region: str | None
    region_rule: RegionRule | None
    dials: tuple[datetime, ...] = ()  # the number's recent dials, newest first
    due: datetime | None = None
    window: Window = field(init=False)

    def __post_init__(self) -> None:
        self.window = campaign_window(self.campaign)

    # -- the rules ---------------------------------------------------------------

    def window_blocks(self, t: datetime) -> list[Block]:
        """The campaign's own window, and in the contact's zones when it asks."""
        out = []
        local = local_time(t, self.campaign.time_zone)
        if not self.window.calling_day(local):
            out.append(Block("not_calling_day", f"It is {local:%a}"))
        if not self.window.in_hours(local):
            out.append(Block("outside_window", f"It is {local:%H:%M}"))
        if self.campaign.respect_contact_time_zone:
            closed = [
                z for z in self.zones if not self.window.open_at(local_time(t, z))
            ]
            if closed:
                out.append(Block("contact_outside_window", ", ".join(closed)))
        if self.due is not None and t < self.due:
            out.append(Block("not_due", f"Due at {iso_z(self.due)}", lifts_at=self.due))
        return out

    def zone_blocks(self, t: datetime) -> list[Block]:
        """Regional hours in every zone of the number, or the safe window."""
        out = []
        if not self.zones:
            safe, safe_zone = safe_window()
            local = local_time(t, safe_zone)
            if not safe.in_hours(local):
                out.append(
                    Block(
                        "unknown_zone",
                        f"It is {local:%H:%M} {safe_zone}",
                        rule=f"safe window {safe.start:%H:%M}-{safe.end:%H:%M} "
                        f"{safe_zone}",
                        source="ECM_SAFE_WINDOW",
                    )
                )
        elif self.region_rule is not None:
            rule = self.region_rule
            closed = [
                f"{local_time(t, z):%H:%M} {z}"
                for z in self.zones
                if not rule.window.in_hours(local_time(t, z))
            ]
            if closed:
                out.append(
                    Block(
                        "regional_hours",
                        "It is " + ", ".join(closed),
                        rule=f"{rule.name} {rule.hours_text} local time",
                        source=rule.source,
                    )
                )
        restricted = self.policy.restricted
        if restricted:
            for z in self.zones or (self.campaign.time_zone,):
                day = local_time(t, z).date()
                name = restricted.reason_for(day)
                if name:
                    out.append(
                        Block(
                            "restricted_date",
                            f"{day} in {z}",
                            rule=name,
                            source="restrictedDates / holidayCalendars",
                        )
                    )
                    break
        return out

    def cap_blocks(self, t: datetime) -> list[Block]:
        out = []
        gap = self.policy.min_gap_minutes
        if gap and self.dials and t < self.dials[0] + timedelta(minutes=gap):
            lifts = self.dials[0] + timedelta(minutes=gap)
            out.append(
                Block(
                    "min_gap",
                    f"Last dialed {iso_z(self.dials[0])}",
                    rule=f"minGapMinutes {gap}",
                    source=self.policy.gap_source,
                    lifts_at=lifts,
                )
            )
        caps = []
        if self.policy.cap is not None:
            p = self.policy.cap
            caps.append((p.count, p.hours, p.text, p.source))
        rule = self.region_rule
        if rule is not None and rule.cap_count and rule.cap_hours:
            text = f"{rule.name}: at most {rule.cap_count} per {rule.cap_hours} h"
            caps.append((rule.cap_count, rule.cap_hours, text, rule.source))
        for count, hours, text, source in caps:
            window = timedelta(hours=hours)
            recent = [d for d in self.dials if d > t - window]
            if len(recent) >= count:
                out.append(
                    Block(
                        "frequency_cap",
                        f"{len(recent)} dial(s) in the last {hours} h",
                        rule=text,
                        source=source,
                        lifts_at=recent[count - 1] + window,
                    )
                )
        return out

    def blocks(self, t: datetime) -> list[Block]:
        """Every time-dependent rule against a dial at t (empty: allowed)."""
        out = self.window_blocks(t)
        if self.rules_on:
            out += campaign_date_blocks(self.campaign, self.policy, t)
            out += self.zone_blocks(t)
            out += self.cap_blocks(t)
        return out


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
