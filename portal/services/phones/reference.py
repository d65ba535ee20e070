"""The match key's definition, by plain public phonenumbers calls."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat


def digits_of(cleaned: str) -> str:
    """Fallback key: the digits alone, so '+123' and '123' agree when unparseable."""
    if cleaned.isascii() and cleaned.isdigit():
        return cleaned
    return "".join(ch for ch in cleaned if ch in "0123456789")


def reference_match_key(cleaned: str, region: str) -> str:
    """Match key by plain phonenumbers calls; the definition match_key must equal."""
    if "#" in cleaned or "*" in cleaned:
        return cleaned
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException:
        return digits_of(cleaned)
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return digits_of(cleaned)
