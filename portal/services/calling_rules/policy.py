"""The calling policy one campaign dials under: system settings, its overrides, law.

The preferences hold the system policy (frequency cap, minimum gap, restricted dates
and holiday calendars); a campaign may set its own cap and gap (replacing the
system's) and adds its own restricted dates and calendars to the system's. The
regional table (regions.py) applies on top of both and cannot be loosened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from flask import current_app

from portal.models import Campaign, PreferenceSettings
from portal.services.calling_rules.dates import RestrictedDates, ranges_from
from portal.services.feed.windows import Window, _hhmm

EVERY_DAY = frozenset(range(7))
MAX_CAP_HOURS = 24 * 31  # the dial log keeps this much history
SYSTEM_SOURCE = "system policy (preferences)"


@dataclass(frozen=True)
class Cap:
    """At most `count` dials of one number in any rolling `hours`."""

    count: int
    hours: int
    source: str

    @property
    def text(self) -> str:
        return f"at most {self.count} dial(s) per {self.hours} h"


@dataclass(frozen=True)
class CallingPolicy:
    cap: Cap | None = None
    min_gap_minutes: int = 0
    gap_source: str = SYSTEM_SOURCE
    restricted: RestrictedDates = field(default_factory=RestrictedDates)
    start_date: date | None = None
    end_date: date | None = None


def enabled() -> bool:
    return bool(current_app.config.get("ECM_CALLING_RULES", True))


def safe_window() -> tuple[Window, str]:
    """The window (and its zone) for a number whose zone cannot be known."""
    text = str(current_app.config.get("ECM_SAFE_WINDOW") or "11:00-20:00")
    start, _, end = text.partition("-")
    window = Window(_hhmm(start, time(11, 0)), _hhmm(end, time(21, 0)), EVERY_DAY)
    return window, current_app.config.get("ECM_SAFE_WINDOW_ZONE") or "America/New_York"


def policy_for(campaign: Campaign, prefs: PreferenceSettings | None) -> CallingPolicy:
    """The campaign's effective policy: its own cap and gap, else the system's."""
    cap = None
    if campaign.frequency_cap_count and campaign.frequency_cap_hours:
        cap = Cap(
            campaign.frequency_cap_count,
            campaign.frequency_cap_hours,
            f"campaign {campaign.id} frequencyCap",
        )
    elif prefs is not None and prefs.frequency_cap_count and prefs.frequency_cap_hours:
        cap = Cap(prefs.frequency_cap_count, prefs.frequency_cap_hours, SYSTEM_SOURCE)
    if campaign.min_gap_minutes is not None:
        gap, gap_source = (
            campaign.min_gap_minutes,
            f"campaign {campaign.id} minGapMinutes",
        )
    else:
        gap = (prefs.min_gap_minutes or 0) if prefs is not None else 0
        gap_source = SYSTEM_SOURCE
    calendars = set(campaign.holiday_calendars or ())
    ranges = list(ranges_from(campaign.restricted_dates))
    if prefs is not None:
        calendars |= set(prefs.holiday_calendars or ())
        ranges += ranges_from(prefs.restricted_dates)
    return CallingPolicy(
        cap=cap,
        min_gap_minutes=gap,
        gap_source=gap_source,
        restricted=RestrictedDates(tuple(sorted(calendars)), tuple(ranges)),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
    )
