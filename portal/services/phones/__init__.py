"""Phone number cleaning and match keys (SPEC §4), fast enough for bulk imports.

A number is stored as the caller gave it with formatting removed (``clean_number``).
Its match key for DNC and duplicate checks is the E.164 form that ``phonenumbers``
gives with the configured default region when the number parses and is possible,
else its digits (``reference_match_key`` is that definition, written plainly).

``match_key`` returns exactly what ``reference_match_key`` returns, but fast: for a
``+?\\d+`` number it looks up a rule ``head + number[drop:]`` memoised per length and
first few characters, derived for the whole class of such numbers at once by
``replay.Plan`` (phonenumbers.parse replayed on classes, with the metadata patterns
read by ``digit_regex``). Classes that cannot be decided, regions phonenumbers does
not know and strings of other shapes go through ``reference_match_key`` itself
behind an LRU cache. Only public phonenumbers and ``re`` APIs are used.
"""

from __future__ import annotations

import functools
import gc
import unicodedata
from collections.abc import Iterable

import phonenumbers
from phonenumbers import SUPPORTED_REGIONS, NumberParseException

from portal.services.phones.reference import reference_match_key
from portal.services.phones.replay import (
    DEEP,
    FIRST_WIDTH,
    LEVELS,
    MAX_DIGITS,
    MAX_FAST_LENGTH,
    SLOW,
    Plan,
)

__all__ = [
    "FORMATTING",
    "MAX_DIGITS",
    "MIN_DIGITS",
    "InvalidNumber",
    "clean_number",
    "match_key",
    "normalise",
    "normalise_many",
    "number_time_zones",
    "reference_match_key",
]

MIN_DIGITS = 3
SLOW_CACHE_SIZE = 200_000
# Check each derived fast-path rule against phonenumbers before using it.
SPOT_CHECK_RULES = True

# Characters a caller may use to format a number; removed by clean_number.
_FORMATTING = (
    " \t\n\r\v\f\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # spaces
    "\u200b\u200c\u200d\u2060\ufeff\xad"  # zero-width chars, BOM, soft hyphen
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"  # dashes
    ".\u2024\uff0e"  # dots
    "()[]\uff08\uff09\uff3b\uff3d"  # brackets
    "/\uff0f"  # slashes
)
FORMATTING = _FORMATTING  # for the OpenAPI document (validation.phone_schema)
_FORMAT_TABLE = {ord(ch): None for ch in _FORMATTING}
_FORMAT_TABLE.update({0xFF0B: "+", 0xFF03: "#", 0xFF0A: "*"})  # full-width forms
_ALLOWED = frozenset("0123456789+#*")


class InvalidNumber(ValueError):
    """A value that cannot be stored as a phone number; ``reason`` says why."""

    def __init__(self, reason: str, raw: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw

    def __repr__(self) -> str:
        return f"InvalidNumber({self.reason!r}, raw={self.raw!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InvalidNumber):
            return NotImplemented
        return (self.reason, self.raw) == (other.reason, other.raw)

    def __hash__(self) -> int:
        return hash((self.reason, repr(self.raw)))


def clean_number(raw: str | int | None) -> str:
    """Strip formatting so the number is stored as given, rejecting non-numbers."""
    cleaned = _quick_clean(raw)
    return cleaned if cleaned is not None else _clean_general(raw)


def _quick_clean(raw: object) -> str | None:
    """clean_number for the common shapes of bulk imports, else None; cheap."""
    if raw.__class__ is not str:
        return None
    text: str = raw  # type: ignore[assignment]
    if not (text.isdigit() and text.isascii()):
        text = (
            text.replace(" ", "")
            .replace("-", "")
            .replace("(", "")
            .replace(")", "")
            .replace(".", "")
        )
    digits = text[1:] if text[:1] == "+" else text
    if (
        digits.isdigit()
        and digits.isascii()
        and MIN_DIGITS <= len(digits) <= MAX_DIGITS
    ):
        return text
    return None


def _clean_general(raw: object) -> str:
    """clean_number for every input, with the precise reason for rejects."""
    if raw is None:
        raise InvalidNumber("empty", raw)
    if isinstance(raw, bool):
        raise InvalidNumber("not a phone number (boolean)", raw)
    if isinstance(raw, int):
        if raw < 0:
            raise InvalidNumber("negative number", raw)
        text = str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise InvalidNumber(f"not text or a whole number ({type(raw).__name__})", raw)
    cleaned = text.translate(_FORMAT_TABLE)
    if not cleaned.isascii():
        # Digits from other scripts (Arabic-Indic, full-width ...) become ASCII.
        cleaned = "".join(
            str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in cleaned
        )
    if not cleaned:
        raise InvalidNumber("empty", raw)
    bad = set(cleaned) - _ALLOWED
    if bad:
        if any(ch.isalpha() for ch in bad):
            raise InvalidNumber("has letters", raw)
        shown = "".join(sorted(bad))
        raise InvalidNumber(f"has invalid characters {shown!r}", raw)
    if "+" in cleaned[1:]:
        raise InvalidNumber("'+' is only allowed at the start", raw)
    digits = len(cleaned) - cleaned.count("+") - cleaned.count("#")
    digits -= cleaned.count("*")
    if digits < MIN_DIGITS:
        raise InvalidNumber(f"too short (min {MIN_DIGITS} digits)", raw)
    if digits > MAX_DIGITS:
        raise InvalidNumber(f"too long (max {MAX_DIGITS} digits)", raw)
    if len(cleaned) > MAX_LENGTH:
        raise InvalidNumber(f"too long (max {MAX_LENGTH} characters)", raw)
    return cleaned


# A number is stored in 32 characters; '#' and '*' are not digits, so without this
# 20 digits and a run of them passed the digit rule and failed the database's width
# (a 503 on PostgreSQL, found by schemathesis). 30 leaves the match key room for the
# country code it may gain.
MAX_LENGTH = 30

_slow_key = functools.lru_cache(maxsize=SLOW_CACHE_SIZE)(reference_match_key)


_plans: dict[str, Plan] = {}


def _plan(region: str) -> Plan | None:
    """The fast-path plan for a region, or None when only phonenumbers will do."""
    plan = _plans.get(region)
    if plan is None:
        if region not in SUPPORTED_REGIONS:
            return None
        plan = _plans.setdefault(region, Plan(region, SPOT_CHECK_RULES))
    return plan


def _is_fast_shape(cleaned: str) -> bool:
    """'+'? then ASCII digits, short enough for the per-length tables."""
    digits = cleaned[1:] if cleaned[:1] == "+" else cleaned
    return 0 < len(cleaned) <= MAX_FAST_LENGTH and digits.isascii() and digits.isdigit()


def match_key(cleaned: str, region: str) -> str:
    """E.164 key for DNC/duplicate matching; equals reference_match_key, faster."""
    plan = _plans.get(region) or _plan(region)
    size = len(cleaned)
    if (
        plan is None
        or not 0 < size <= MAX_FAST_LENGTH
        or not cleaned.isascii()
        or not (cleaned.isdigit() or (cleaned[0] == "+" and cleaned[1:].isdigit()))
    ):
        return _slow_key(cleaned, region)
    rule = plan.first[size].get(cleaned[:FIRST_WIDTH])
    if rule.__class__ is not tuple:
        rule = plan.rule(cleaned)
        if rule is SLOW:
            return _slow_key(cleaned, region)
    return rule[0] + cleaned[rule[1] :]  # type: ignore[index]


def normalise(raw: str | int | None, region: str) -> tuple[str, str]:
    """(cleaned, match key) for one raw value; raises InvalidNumber."""
    cleaned = _quick_clean(raw)
    if cleaned is not None:
        plan = _plans.get(region)
        if plan is not None:
            rule = plan.first[len(cleaned)].get(cleaned[:FIRST_WIDTH])
            if rule.__class__ is tuple:
                return cleaned, rule[0] + cleaned[rule[1] :]  # type: ignore[index]
    else:
        cleaned = _clean_general(raw)
    return cleaned, match_key(cleaned, region)


def normalise_many(
    raws: Iterable[str | int | None], region: str
) -> list[tuple[str, str] | InvalidNumber]:
    """normalise() over an upload, with InvalidNumber in place of rejected rows."""
    plan = _plan(region)
    if plan is None:
        return [_normalise_or_error(raw, region) for raw in raws]
    # A million result tuples make the cyclic GC rescan the growing list over and
    # over (~20% of the run); nothing here creates cycles, so pause it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _normalise_fast(raws, region, plan)
    finally:
        if gc_was_enabled:
            gc.enable()


def _normalise_fast(
    raws: Iterable[str | int | None], region: str, plan: Plan
) -> list[tuple[str, str] | InvalidNumber]:
    """The normalise_many loop with its lookups hoisted into locals."""
    out: list[tuple[str, str] | InvalidNumber] = []
    append = out.append
    first = plan.first
    second = plan.tables[1]
    first_width = FIRST_WIDTH
    second_width = LEVELS[1]
    slow_rule = plan.rule
    slow_key = _slow_key
    quick_clean = _quick_clean
    clean_general = _clean_general
    for raw in raws:
        cleaned = quick_clean(raw)
        if cleaned is None:
            try:
                cleaned = clean_general(raw)
            except InvalidNumber as error:
                error.__traceback__ = None  # keeps the list free of frame cycles
                append(error)
                continue
            if not _is_fast_shape(cleaned):
                append((cleaned, slow_key(cleaned, region)))
                continue
        size = len(cleaned)
        rule = first[size].get(cleaned[:first_width])
        if rule is DEEP:
            rule = second[size].get(cleaned[:second_width])
        if rule.__class__ is not tuple:
            rule = slow_rule(cleaned)
            if rule is SLOW:
                append((cleaned, slow_key(cleaned, region)))
                continue
        append((cleaned, rule[0] + cleaned[rule[1] :]))  # type: ignore[index]
    return out


def _normalise_or_error(
    raw: str | int | None, region: str
) -> tuple[str, str] | InvalidNumber:
    """normalise() with the error returned rather than raised."""
    try:
        return normalise(raw, region)
    except InvalidNumber as error:
        error.__traceback__ = None
        return error


_UNKNOWN_ZONE = "Etc/Unknown"


@functools.lru_cache(maxsize=65_536)
def _time_zones(cleaned: str, region: str) -> tuple[str, ...]:
    """Cached zone lookup; dialling windows ask for the same numbers repeatedly."""
    from phonenumbers.timezone import time_zones_for_number

    if "#" in cleaned or "*" in cleaned:
        return ()
    try:
        number = phonenumbers.parse(cleaned, region)
    except NumberParseException:
        return ()
    return tuple(
        zone for zone in time_zones_for_number(number) if zone != _UNKNOWN_ZONE
    )


def number_time_zones(cleaned: str, region: str) -> list[str]:
    """IANA zones the number may ring in, for calling-hours checks; [] if unknown."""
    return list(_time_zones(cleaned, region))
