"""Where a number rings: its zones and rule region, cached on its leading digits.

phonenumbers keys its time-zone data on at most TIMEZONE_LONGEST_PREFIX (9) digits
of the E.164 number, so every match key that shares its first nine digits shares
its zones; the claim asks for thousands of numbers a tick, and a parse costs
~44 us, so zones and region are cached per prefix rather than per number.
"""

from __future__ import annotations

from functools import lru_cache

from phonenumbers.tzdata import TIMEZONE_LONGEST_PREFIX

from portal.services import phones
from portal.services.calling_rules.regions import RegionRule, region_of, rule_for

PREFIX_CHARS = TIMEZONE_LONGEST_PREFIX + 1  # the "+" and nine digits


@lru_cache(maxsize=131072)
def _zones_of_prefix(prefix: str, example: str, default_region: str) -> tuple[str, ...]:
    try:
        return tuple(phones.number_time_zones(example, default_region))
    except Exception:  # noqa: BLE001 - an odd number has no known zone
        return ()


def zones_of(number: str, key: str, default_region: str) -> tuple[str, ...]:
    """The IANA zones the number may ring in; () when unknown."""
    if key.startswith("+") and key[1:].isdigit():
        return _zones_of_prefix(key[:PREFIX_CHARS], key, default_region)
    return _zones_of_prefix(number, number, default_region)


def regional_rule(
    key: str, default_region: str
) -> tuple[str | None, RegionRule | None]:
    region = region_of(key, default_region)
    return region, rule_for(region)
