"""Where a number rings: its zones and rule region, cached on the prefix that decides.

phonenumbers finds a number's zones by the longest prefix of its E.164 digits in
its time-zone table (at most nine digits), so every number whose longest matching
prefix is the same shares its zones: the claim asks for thousands of numbers a
tick, a parse costs ~44 us, and the table lookup ~1 us, so zones are cached per
matching prefix. A North American number's region (its state or province) is
decided by its area code, other countries' by their country code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from portal.services import phones
from portal.services.calling_rules.regions import RegionRule, region_of, rule_for

NANP_AREA = 5  # "+1" and the area code
NANP_EXCHANGE = 8  # "+1", the area code and the exchange
NANP_LENGTH = 12
OTHER_PREFIX = 8
_by_prefix: dict[str, tuple[str, ...] | None] = {}
_by_area: dict[str, tuple[str | None, RegionRule | None]] = {}


def _lookup(number: str, default_region: str) -> tuple[str, ...]:
    try:
        return tuple(phones.number_time_zones(number, default_region))
    except Exception:  # noqa: BLE001 - an odd number has no known zone
        return ()


@lru_cache(maxsize=65536)
def _zones_of_number(number: str, default_region: str) -> tuple[str, ...]:
    return _lookup(number, default_region)


def _matching_prefix(digits: str) -> str | None:
    for n in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        if digits[:n] in TIMEZONE_DATA:
            return digits[:n]
    return None


def zones_of(number: str, key: str, default_region: str) -> tuple[str, ...]:
    """The IANA zones the number may ring in; () when unknown."""
    if len(key) == NANP_LENGTH and key.startswith("+1") and key[1:].isdigit():
        # North America: no zone prefix is longer than seven digits ("1" + NPA-NXX)
        return _nanp_zones(key[:NANP_EXCHANGE], default_region)
    if key.startswith("+") and key[1:].isdigit():
        return _zones_by_prefix(key, default_region)
    return _zones_of_number(number, default_region)


@lru_cache(maxsize=262144)
def _nanp_zones(exchange: str, default_region: str) -> tuple[str, ...]:
    # one number of the exchange answers for all of it (the table's NANP prefixes
    # stop at the exchange); every NANP prefix differs from "1"'s country zones
    return _lookup(exchange + "0100", default_region)


def _zones_by_prefix(key: str, default_region: str) -> tuple[str, ...]:
    prefix = _matching_prefix(key[1:])
    if prefix is None:
        return _zones_of_number(key, default_region)
    if prefix not in _by_prefix:
        _by_prefix[prefix] = _shared_zones(prefix)
    zones = _by_prefix[prefix]
    return _zones_of_number(key, default_region) if zones is None else zones


def _shared_zones(prefix: str) -> tuple[str, ...] | None:
    """The zones every number under this table prefix rings in, or None.

    phonenumbers gives a geographic number its prefix's zones and any other
    number (a mobile in most countries, toll-free, VoIP) its country's. Where the
    two agree, the prefix decides for all its numbers; where they differ, only
    the number's type does, so such numbers are looked up one by one (and never
    take the answer of whichever number came first).
    """
    own = tuple(TIMEZONE_DATA[prefix])
    country = next(
        (cc for n in (1, 2, 3) if int(cc := prefix[:n]) in COUNTRY_CODE_TO_REGION_CODE),
        None,
    )
    if country is None:
        return None
    for n in range(len(country), 0, -1):
        if country[:n] in TIMEZONE_DATA:
            whole = tuple(TIMEZONE_DATA[country[:n]])
            return own if set(whole) == set(own) else None
    return None


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def time_zone_pattern() -> str:
    """check_time_zone's rule as a JSON-schema pattern (spaces trimmed)."""
    names = "|".join(re.escape(z) for z in sorted(_known_zones()))
    return r"^\s*(" + names + r")\s*$"


def check_time_zone(value: Any) -> str:
    """A contact's time zone: an IANA name such as America/Chicago."""
    text = str(value).strip()
    if text not in _known_zones():
        raise ValueError('must be an IANA time zone such as "America/Chicago"')
    return text


def located(
    number: str | None,
    key: str,
    default_region: str,
    time_zone: str | None = None,
    region: str | None = None,
) -> tuple[tuple[str, ...], str | None, RegionRule | None]:
    """(zones, rule region, its rule) of a contact: its own time zone and region when
    the integrator gave them (contacts.time_zone / region), else its number's."""
    if time_zone:
        zones: tuple[str, ...] = (time_zone,)
    else:
        zones = zones_of(number, key, default_region) if number else ()
    if region:
        return zones, region, rule_for(region)
    if key:
        return (zones, *regional_rule(key, default_region))
    return zones, None, None


def regional_rule(
    key: str, default_region: str
) -> tuple[str | None, RegionRule | None]:
    """(rule region, its rule) of a match key."""
    if key.startswith("+1") and len(key) == NANP_LENGTH:
        known = _by_area.get(key[:NANP_AREA])
        if known is None:  # the area code decides
            region = region_of(key[:NANP_AREA] + "5550100", default_region)
            known = _by_area[key[:NANP_AREA]] = (region, rule_for(region))
        return known
    if key.startswith("+") and len(key) > OTHER_PREFIX:
        sample = key[:OTHER_PREFIX] + "0" * (len(key) - OTHER_PREFIX)
    else:
        sample = key
    region = region_of(sample, default_region)
    return region, rule_for(region)
