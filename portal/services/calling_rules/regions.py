"""Regional calling rules from law: hours in the called party's local time and caps.

One row per region, with the law it comes from beside it. A region is a country
(ISO 3166-1) or a subdivision (ISO 3166-2, "US-FL"). A number's region comes from
its number (phonenumbers' geocoder names the US state of an area code); a number
in a country without a row has no regional rule. No campaign window can widen
these hours; a campaign or system frequency cap applies on top of a region's cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, geocoder

from portal.services.feed.windows import Window

EVERY_DAY = frozenset(range(7))


@dataclass(frozen=True)
class RegionRule:
    """Calling hours (start inclusive, end exclusive) and an optional dial cap."""

    region: str
    name: str
    start: time
    end: time
    cap_count: int | None
    cap_hours: int | None
    source: str

    @property
    def window(self) -> Window:
        return Window(self.start, self.end, EVERY_DAY)

    @property
    def hours_text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


REGIONAL_RULES: tuple[RegionRule, ...] = (
    RegionRule(
        "US",
        "United States",
        time(8, 0),
        time(21, 0),
        None,
        None,
        "47 CFR 64.1200(c)(1) (TCPA): no telephone solicitation before 8 a.m. or "
        "after 9 p.m. local time at the called party's location; no federal "
        "per-number call count",
    ),
    RegionRule(
        "US-FL",
        "Florida",
        time(8, 0),
        time(20, 0),
        3,
        24,
        "Fla. Stat. 501.616(6)(a)-(b) as amended by ch. 2021-185 (SB 1120): "
        "8 a.m.-8 p.m. in the called person's time zone, at most 3 calls per "
        "24 hours on the same subject",
    ),
    RegionRule(
        "US-OK",
        "Oklahoma",
        time(8, 0),
        time(20, 0),
        3,
        24,
        "Oklahoma Telephone Solicitation Act of 2022 (HB 3168, 15 O.S. 775C.1 ff., "
        "in force 1 Nov 2022): 8 a.m.-8 p.m., at most 3 calls per 24 hours",
    ),
    RegionRule(
        "US-MD",
        "Maryland",
        time(8, 0),
        time(20, 0),
        3,
        24,
        "Maryland Stop the Spam Calls Act of 2023 (SB 90, Md. Code Com. Law "
        "14-4501 ff., in force 1 Jan 2024): 8 a.m.-8 p.m. in the called party's "
        "time zone, at most 3 calls or texts per 24 hours on the same subject",
    ),
)
RULES_BY_REGION = {rule.region: rule for rule in REGIONAL_RULES}
_STATE_NAMES = {rule.name: rule.region for rule in REGIONAL_RULES if "-" in rule.region}
_STATE_CODES = {code.split("-")[1]: code for code in _STATE_NAMES.values()}


def capped_rules() -> tuple[RegionRule, ...]:
    return tuple(rule for rule in REGIONAL_RULES if rule.cap_count)


@lru_cache(maxsize=65536)
def _region_of_prefix(key: str, default_region: str) -> str | None:
    try:
        number = phonenumbers.parse(key, default_region)
    except NumberParseException:
        return None
    country = phonenumbers.region_code_for_number(number)
    if not country:
        return None
    if country == "US":
        place = geocoder.description_for_number(number, "en")
        if place in _STATE_NAMES:
            return _STATE_NAMES[place]
        tail = place.rsplit(", ", 1)[-1] if ", " in place else ""
        if tail in _STATE_CODES:
            return _STATE_CODES[tail]
    return country


def region_of(key: str, default_region: str = "US") -> str | None:
    """The rule region of a match key ("US-FL", "US", "GB"), None when unknown."""
    return _region_of_prefix(key, default_region) if key else None


_REGION_FORM = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")


@lru_cache(maxsize=1)
def _subdivisions() -> dict[str, frozenset[str]]:
    import holidays

    return {
        country: frozenset(codes)
        for country, codes in holidays.list_supported_countries().items()
    }


@lru_cache(maxsize=1)
def region_pattern() -> str:
    """check_region's rule as a JSON-schema pattern (any case, spaces trimmed)."""
    from portal.services.validation import any_case

    subdivisions = _subdivisions()
    codes = []
    for country in sorted(phonenumbers.SUPPORTED_REGIONS):
        parts = sorted(
            p for p in subdivisions.get(country, ()) if re.fullmatch("[A-Z0-9]{1,3}", p)
        )
        tail = f"(-{any_case(parts)})?" if parts else ""
        codes.append(any_case([country]) + tail)
    return r"^\s*(" + "|".join(codes) + r")\s*$"


def check_region(value: Any) -> str:
    """A contact's rule region: ISO 3166-1 alpha-2 ("US") or ISO 3166-2 ("US-FL").

    The country must be one phone numbers know; a subdivision must be one the
    holidays package lists for that country (US states, Canadian provinces ...)."""
    text = str(value).strip().upper()
    found = _REGION_FORM.match(text)
    if not found:
        raise ValueError('must be an ISO 3166 code such as "US" or "US-FL"')
    country, part = found.groups()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{country} is not a country code phone numbers know")
    if part is not None and part not in _subdivisions().get(country, frozenset()):
        raise ValueError(f"{text} is not a subdivision of {country}")
    return text


def rule_for(region: str | None) -> RegionRule | None:
    """The region's own row, else its country's, else None."""
    if not region:
        return None
    if region in RULES_BY_REGION:
        return RULES_BY_REGION[region]
    return RULES_BY_REGION.get(region.split("-")[0])
