"""phonenumbers.parse replayed on a whole class of numbers at once.

A class is every cleaned number with a given '+' (or not), a given length and a
given known prefix: ``(known prefix, count of unknown digits)``. For ``+?\\d+``
numbers the outcome of ``phonenumbers.parse`` + ``is_possible_number`` + E.164 depends
only on the digit count, on a handful of the region's metadata patterns (the
international prefix, the national prefix, the general number pattern) and on a
few prefix and length checks. `Plan` answers each of those questions for the class
(through `digit_regex.Nfa`), or gives up; when every answer is shared, every member's
key is ``head + number[drop:]``, memoised per (length, first characters).

Only public phonenumbers names are used: `PhoneMetadata` and its documented
attributes, `COUNTRY_CODE_TO_REGION_CODE`, `region_code_for_country_code`,
`ValidationResult`, `NumberParseException`. The few steps of the parser this replays
are written out below, each named after the phonenumbers function it mirrors; every
derived rule is spot-checked against `phonenumbers` itself on two members of its
class before use (`verify`), and a class it cannot decide goes to phonenumbers.
"""

from __future__ import annotations

import functools
import random
import re
import threading
import zlib
from typing import Any

from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    ValidationResult,
    region_code_for_country_code,
)

from portal.services.phones.digit_regex import ALL, MIXED, nfa
from portal.services.phones.reference import reference_match_key

# libphonenumber's PhoneNumberUtil constants (MIN_LENGTH_FOR_NSN,
# MAX_LENGTH_FOR_NSN, MAX_LENGTH_COUNTRY_CODE); E.164 country codes have 1-3 digits.
MIN_NSN = 2
MAX_NSN = 17
MAX_CC = 3
MAX_DIGITS = 20

_Sym = tuple[str, int]  # every string known + <n unknown digits>
_TOO_SHORT_AFTER_IDD = NumberParseException.TOO_SHORT_AFTER_IDD
_INVALID_COUNTRY_CODE = NumberParseException.INVALID_COUNTRY_CODE
_VR = ValidationResult


class Undetermined(Exception):
    """The class of numbers does not share one outcome at this prefix depth."""


class Unsupported(Exception):
    """Outside what the replay models; such numbers use phonenumbers."""


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiled exactly as phonenumbers.re_util.re_compile does."""
    return re.compile(pattern)


def _length_result(length: int, metadata: Any) -> ValidationResult:
    """phonenumbers' number-length check for a number of unknown type: it looks at
    the general description's possible lengths and nothing else
    (libphonenumber's testNumberLength with PhoneNumberType.UNKNOWN)."""
    desc = metadata.general_desc
    if desc is None:
        return _VR.INVALID_LENGTH
    possible = desc.possible_length
    if length in desc.possible_length_local_only:
        return _VR.IS_POSSIBLE_LOCAL_ONLY
    if possible[0] == length:
        return _VR.IS_POSSIBLE
    if possible[0] > length:
        return _VR.TOO_SHORT
    if possible[-1] < length:
        return _VR.TOO_LONG
    return _VR.IS_POSSIBLE if length in possible[1:] else _VR.INVALID_LENGTH


class _ParseFail(Exception):
    """phonenumbers.parse raises NumberParseException(kind) for the whole class."""

    def __init__(self, kind: int) -> None:
        super().__init__(kind)
        self.kind = kind


def _length(sym: _Sym) -> int:
    return len(sym[0]) + sym[1]


def _drop(sym: _Sym, count: int) -> _Sym:
    known, unknown = sym
    if count <= len(known):
        return known[count:], unknown
    return "", unknown - (count - len(known))


def _char(sym: _Sym, index: int) -> str:
    if index < len(sym[0]):
        return sym[0][index]
    raise Undetermined


def _startswith(sym: _Sym, literal: str) -> bool:
    if len(literal) > _length(sym):
        return False
    known = sym[0]
    size = min(len(known), len(literal))
    if known[:size] != literal[:size]:
        return False
    if size == len(literal):
        return True
    raise Undetermined


def _prefix_match(pattern: str, sym: _Sym) -> re.Match[str] | None:
    """pattern.match() on every member, valid when no path reads past the prefix.

    The members then differ only in characters no path looks at (and a '$' sees
    the same total length in all of them), so any member gives the answer.
    """
    known, unknown = sym
    if unknown:
        nfa_ = nfa(pattern)
        if nfa_ is None or not nfa_.confined(known):
            raise Undetermined
    return _compiled(pattern).match(known + "0" * unknown)


def _general_match(sym: _Sym, metadata: Any) -> bool:
    """_match_national_number(number, general_desc, False) on every member."""
    desc = metadata.general_desc
    if desc is None or not desc.national_number_pattern:
        return False
    pattern = desc.national_number_pattern
    known, unknown = sym
    if not unknown:
        return _compiled(pattern).fullmatch(known) is not None
    nfa_ = nfa(pattern)
    if nfa_ is None or nfa_.anchored:
        raise Undetermined
    verdict = nfa_.classify(nfa_.run(nfa_.start, known), unknown)
    if verdict == MIXED:
        raise Undetermined
    return verdict == ALL


def _strip_national_prefix(sym: _Sym, metadata: Any) -> _Sym:
    """_maybe_strip_national_prefix_carrier_code, number part only."""
    prefix = metadata.national_prefix_for_parsing
    if _length(sym) == 0 or not prefix:
        return sym
    match = _prefix_match(prefix, sym)
    if not match:
        return sym
    rule = metadata.national_prefix_transform_rule
    groups = match.groups()
    if rule and groups[len(groups) - 1] is not None:
        raise Unsupported("national prefix transform rule")
    stripped = _drop(sym, match.end())
    if _general_match(sym, metadata) and not _general_match(stripped, metadata):
        return sym
    return stripped


def _extract_country_code(sym: _Sym) -> tuple[int, _Sym]:
    """_extract_country_code: the first 1-3 digits if they are a calling code."""
    length = _length(sym)
    if length == 0 or _char(sym, 0) == "0":
        return 0, sym
    for size in range(1, min(length, MAX_CC) + 1):
        if size > len(sym[0]):
            raise Undetermined
        code = int(sym[0][:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, _drop(sym, size)
    return 0, sym


def _maybe_extract_country_code(
    plus: bool, sym: _Sym, metadata: Any
) -> tuple[int, _Sym]:
    """_maybe_extract_country_code for a digit string, '+' given separately."""
    if _length(sym) == 0:
        return 0, ("", 0)
    full = sym
    from_default = False
    if not plus:
        idd = "NonMatch"
        if metadata is not None and metadata.international_prefix is not None:
            idd = metadata.international_prefix
        match = _prefix_match(idd, sym)
        if match:
            rest = _drop(sym, match.end())
            if _length(rest) and _char(rest, 0) == "0":
                from_default = True
            else:
                full = rest
        else:
            from_default = True
    if not from_default:
        if _length(full) <= MIN_NSN:
            raise _ParseFail(_TOO_SHORT_AFTER_IDD)
        code, rest = _extract_country_code(full)
        if code:
            return code, rest
        raise _ParseFail(_INVALID_COUNTRY_CODE)
    if metadata is not None:
        own = str(metadata.country_code)
        if _startswith(full, own):
            candidate = _strip_national_prefix(_drop(full, len(own)), metadata)
            if _length_result(_length(full), metadata) == _VR.TOO_LONG or (
                not _general_match(full, metadata)
                and _general_match(candidate, metadata)
            ):
                return metadata.country_code, candidate
    return 0, ("", 0)


_Rule = tuple[str, int]  # key = head + cleaned[drop:]
SLOW = "slow"  # decided: use phonenumbers for this class
DEEP = "deep"  # undecided: look at more digits

# Key widths (characters of the cleaned number, '+' included) of the rule tables.
# Nearly all numbers are decided by the first three or four digits, so the first
# table stays small; undecided classes look further, then use phonenumbers.
LEVELS = (4, 7, 10)
FIRST_WIDTH = LEVELS[0]
MAX_FAST_LENGTH = MAX_DIGITS + 1
MAX_ENTRIES = 300_000  # per plan (~25k per 1M-row upload); rebuilt past this


class Plan:
    """Per-region rules mapping (length, prefix) classes of numbers to keys."""

    def __init__(self, region: str, verify: bool) -> None:
        self.region = region
        self.metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        self.verify = verify  # spot-check each derived rule against phonenumbers
        self.lock = threading.Lock()
        self.mismatches: list[tuple[str, str, str]] = []
        self.stats = {"rules": 0, "slow_classes": 0, "deep_classes": 0}
        self._reset()

    def _reset(self) -> None:
        size = MAX_FAST_LENGTH + 1
        self.tables: list[list[dict[str, object]]] = [
            [{} for _ in range(size)] for _ in LEVELS
        ]
        self.first = self.tables[0]
        self.nodes: dict[tuple[bool, int, str], object] = {}
        self.entries = 0

    def rule(self, cleaned: str) -> object:
        """The rule for a cleaned '+?digits' number of fast length, or SLOW."""
        with self.lock:
            if self.entries > MAX_ENTRIES:
                self._reset()
            size = len(cleaned)
            plus = cleaned[0] == "+"
            digits = cleaned[1:] if plus else cleaned
            start = 0
            entry: object = DEEP
            for level, width in enumerate(LEVELS):
                table = self.tables[level][size]
                head = cleaned[:width]
                entry = table.get(head)
                if entry is None:
                    entry = self._walk(plus, digits, start, width - plus)
                    if entry is DEEP and level == len(LEVELS) - 1:
                        entry = SLOW
                    table[head] = entry
                    self.entries += 1
                if entry is not DEEP:
                    break
                start = width - plus + 1
            return entry

    def _walk(self, plus: bool, digits: str, start: int, stop: int) -> object:
        """The shallowest decided class containing the number, or DEEP."""
        count = len(digits)
        for depth in range(start, min(stop, count) + 1):
            key = (plus, count, digits[:depth])
            node = self.nodes.get(key)
            if node is None:
                node = self._analyse(plus, count, digits[:depth])
                self.nodes[key] = node
                self.entries += 1
            if node is not DEEP:
                return node
        return DEEP

    def _analyse(self, plus: bool, count: int, known: str) -> object:
        """Decide the class, then spot-check the rule against phonenumbers."""
        try:
            rule = self._derive(plus, (known, count - len(known)))
        except Undetermined:
            if len(known) < count:
                self.stats["deep_classes"] += 1
                return DEEP
            self.stats["slow_classes"] += 1
            return SLOW
        except Exception:  # noqa: BLE001 - any failure to decide means "ask phonenumbers"
            self.stats["slow_classes"] += 1
            return SLOW
        if self.verify and not self._spot_check(rule, plus, count, known):
            self.stats["slow_classes"] += 1
            return SLOW
        self.stats["rules"] += 1
        return rule

    def _spot_check(self, rule: _Rule, plus: bool, count: int, known: str) -> bool:
        """Compare the derived rule with phonenumbers on two members of the class."""
        rng = random.Random(zlib.crc32(f"{plus}{count}{known}".encode()))
        for _ in range(2):
            tail = "".join(rng.choice("0123456789") for _ in range(count - len(known)))
            cleaned = ("+" if plus else "") + known + tail
            expected = reference_match_key(cleaned, self.region)
            got = rule[0] + cleaned[rule[1] :]
            if got != expected:
                self.mismatches.append((cleaned, expected, got))
                return False
        return True

    def _derive(self, plus: bool, sym: _Sym) -> _Rule:
        """phonenumbers.parse + is_possible_number + E164 for the whole class."""
        lead = 1 if plus else 0
        fallback = ("", lead)
        # _is_viable_phone_number: two bare digits, or three or more.
        if _length(sym) < (3 if plus else MIN_NSN):
            return fallback
        metadata = self.metadata
        try:
            code, national = _maybe_extract_country_code(plus, sym, metadata)
        except _ParseFail as error:
            if error.kind != _INVALID_COUNTRY_CODE or not plus:
                return fallback
            try:
                code, national = _maybe_extract_country_code(False, sym, metadata)
            except _ParseFail:
                return fallback
            if code == 0:
                return fallback
        if code != 0:
            number_region = region_code_for_country_code(code)
            if number_region != self.region:
                metadata = PhoneMetadata.metadata_for_region_or_calling_code(
                    code, number_region
                )
        else:
            if plus:
                raise Unsupported("unreachable: '+' number without country code")
            national = sym
            code = metadata.country_code
        if _length(national) < MIN_NSN:
            return fallback
        if metadata is not None:
            candidate = _strip_national_prefix(national, metadata)
            if _length_result(_length(candidate), metadata) not in (
                _VR.TOO_SHORT,
                _VR.IS_POSSIBLE_LOCAL_ONLY,
                _VR.INVALID_LENGTH,
            ):
                national = candidate
        if _length(national) > MAX_NSN:
            return fallback
        if code not in COUNTRY_CODE_TO_REGION_CODE:
            return fallback
        number_metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            code, region_code_for_country_code(code)
        )
        if number_metadata is None:
            raise Unsupported("no metadata for calling code")
        if _length_result(_length(national), number_metadata) not in (
            _VR.IS_POSSIBLE,
            _VR.IS_POSSIBLE_LOCAL_ONLY,
        ):
            return fallback
        return f"+{code}", lead + _length(sym) - _length(national)
