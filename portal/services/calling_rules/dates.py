"""Restricted dates: holiday calendars from the `holidays` package and named dates.

A calendar is "US", "US-FL", "CA-ON" (country, optionally ISO 3166-2 subdivision);
custom entries are {"name", "from", "to"} (a single date has from == to). Both can
be set in the preferences (every campaign) and on a campaign (that campaign).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import holidays

MAX_RANGE_DAYS = 366
MAX_ENTRIES = 200


@dataclass(frozen=True)
class DateRange:
    name: str
    first: date
    last: date

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
        }


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("dates are YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a YYYY-MM-DD date") from None


def parse_restricted(items: Any) -> list[dict[str, str]]:
    """Validate restrictedDates ("YYYY-MM-DD" or {"name","date"|"from","to"})."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError("must be a list of dates or {name, from, to} ranges")
    if len(items) > MAX_ENTRIES:
        raise ValueError(f"at most {MAX_ENTRIES} entries")
    out = []
    for item in items:
        if isinstance(item, str):
            item = {"date": item}
        if not isinstance(item, dict) or set(item) - {"name", "date", "from", "to"}:
            raise ValueError("each entry is a date or {name, date} or {name, from, to}")
        for key in ("date", "from", "to"):
            if key in item:
                _parse_date(item[key])  # every date given is a date, used or not
        first = _parse_date(item.get("date") or item.get("from"))
        last = _parse_date(item.get("to") or item.get("date") or item.get("from"))
        if last < first:
            raise ValueError(f"{last} is before {first}")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a range may span at most {MAX_RANGE_DAYS} days")
        name = item.get("name")
        if isinstance(name, (bool, dict, list)):
            raise ValueError("a restricted date's name is text")
        name = str(name or "Restricted date")[:120]
        out.append(DateRange(name, first, last).as_dict())
    return out


def check_calendar(spec: Any) -> str:
    """ "US" or "US-FL": a country (and subdivision) the holidays package knows."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("calendars are country codes such as US or US-FL")
    text = spec.strip().upper()
    country, _, subdivision = text.partition("-")
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"{spec!r}: the holidays package has no calendar for {country}"
        )
    if subdivision and subdivision not in supported[country]:
        raise ValueError(f"{spec!r}: {country} has no subdivision {subdivision}")
    return text


def parse_calendars(items: Any) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > 50:
        raise ValueError("must be a list of at most 50 calendars such as US or US-FL")
    return sorted({check_calendar(item) for item in items})


@lru_cache(maxsize=512)
def _calendar_year(spec: str, year: int) -> dict[date, str]:
    country, _, subdivision = spec.partition("-")
    return dict(
        holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    )


def ranges_from(items: Iterable[dict[str, str]] | None) -> tuple[DateRange, ...]:
    out = []
    for item in items or ():
        try:
            out.append(
                DateRange(
                    item["name"], _parse_date(item["from"]), _parse_date(item["to"])
                )
            )
        except (KeyError, ValueError, TypeError):
            continue  # stored values were validated; a hand-edited row is ignored
    return tuple(out)


@dataclass(frozen=True)
class RestrictedDates:
    """Calendars and custom ranges together: is a local date a no-dial day."""

    calendars: tuple[str, ...] = ()
    ranges: tuple[DateRange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.calendars or self.ranges)

    def reason_for(self, day: date) -> str | None:
        """The restriction's name on that day, None when dialing is allowed."""
        for item in self.ranges:
            if item.first <= day <= item.last:
                return item.name
        for spec in self.calendars:
            name = _calendar_year(spec, day.year).get(day)
            if name:
                return f"{name} ({spec})"
        return None
