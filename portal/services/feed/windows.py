"""Calling windows: is a moment inside a campaign's days and hours in a given zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.models import Campaign


@dataclass(frozen=True)
class Window:
    """Calling days (0 = Sunday) and hours; an end before the start crosses midnight."""

    start: time
    end: time
    days: frozenset[int]

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def in_hours(self, local: datetime) -> bool:
        """Start inclusive, end exclusive; equal start and end means all day."""
        t = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return True
        if self.crosses_midnight:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def calling_day(self, local: datetime) -> bool:
        """The day the window opened: after midnight of a crossing window, yesterday."""
        day = local.date()
        if self.crosses_midnight and local.time().replace(tzinfo=None) < self.end:
            day -= timedelta(days=1)
        return day.isoweekday() % 7 in self.days

    def open_at(self, local: datetime) -> bool:
        return self.calling_day(local) and self.in_hours(local)


def _hhmm(text: str | None, default: time) -> time:
    try:
        hours, minutes = str(text).strip().split(":")[:2]
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return default


@lru_cache(maxsize=1024)
def _window(start: str | None, end: str | None, days: str | None) -> Window:
    parsed = set()
    for part in (days or "").split(","):
        part = part.strip()
        if part.isdigit() and 0 <= int(part) <= 6:
            parsed.add(int(part))
    return Window(_hhmm(start, time(0, 0)), _hhmm(end, time(23, 59)), frozenset(parsed))


def campaign_window(campaign: Campaign) -> Window:
    return _window(campaign.start_time, campaign.end_time, campaign.week_days)


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone, UTC when the name is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(now: datetime, zone_name: str | None) -> datetime:
    """A naive-UTC instant as wall-clock time in the zone (DST handled by zoneinfo)."""
    return now.replace(tzinfo=UTC).astimezone(zone(zone_name))
