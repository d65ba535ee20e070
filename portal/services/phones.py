"""Phone number cleaning and match keys (SPEC §4), fast enough for bulk imports.

A number is stored as the caller gave it with formatting removed (``clean_number``).
Its match key for DNC and duplicate checks is the E.164 form that ``phonenumbers``
gives with the configured default region when the number parses and is possible,
else its digits (``reference_match_key`` is that definition, written plainly).

``match_key`` returns exactly what ``reference_match_key`` returns, but fast.  For
every cleaned number of the form ``+?\\d+`` the outcome of ``phonenumbers.parse``
depends only on the digit count and on the outcome of a handful of regular
expressions from the metadata (international prefix, national prefix, the region's
general number pattern) and of a few prefix/length checks.  ``_Plan._derive``
replays that algorithm on a *class* of numbers - all numbers with a given length
and a given known prefix - and answers each regex question for the whole class at
once (through a small NFA built from the metadata pattern), or gives up.  When
every question has one answer for the whole class, the key of every member is
``head + number[drop:]``; that rule is memoised in a table keyed by the number's
length and first few characters, so a typical number costs one dict lookup and
one string concatenation.  Classes that cannot be decided from the first ten
characters (national prefix transform rules, some '$'-anchored prefixes), regions
phonenumbers does not know and strings not of the form ``+?\\d+`` go through
``reference_match_key`` itself behind an LRU cache.  Each derived rule is also
spot-checked against ``phonenumbers`` on two members of its class before use; a
disagreement (a bug) disables that rule.
"""

from __future__ import annotations

import functools
import gc
import random
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterable
from typing import Any

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    SUPPORTED_REGIONS,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    region_code_for_country_code,
)
from phonenumbers import phonenumberutil as _pnu

try:  # Python >= 3.11
    from re import _constants as _sre_c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - older interpreters
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = [
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
MAX_DIGITS = 20
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
    return cleaned


def _digits_of(cleaned: str) -> str:
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
        return _digits_of(cleaned)
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return _digits_of(cleaned)


_slow_key = functools.lru_cache(maxsize=SLOW_CACHE_SIZE)(reference_match_key)


# --------------------------------------------------------------------------
# Deciding a regular expression for a whole class of digit strings at once.
# --------------------------------------------------------------------------

_ALL_DIGITS = (1 << 10) - 1
_NONE, _ALL, _MIXED = 0, 1, 2
_MAX_NFA_STATES = 4000


class _Undetermined(Exception):
    """The class of numbers does not share one outcome at this prefix depth."""


class _Unsupported(Exception):
    """Outside what the class analysis models; such numbers use phonenumbers."""


class _Nfa:
    """Thompson NFA over the ten ASCII digits for a metadata regular expression."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple[int, int]]] = []
        self.anchored = False  # has '$': fine for confinement, not for classify
        tree = _sre_parse.parse(pattern)
        _, hi = tree.getwidth()
        self.max_width: int | None = hi if hi < _sre_c.MAXREPEAT else None
        start = self._new()
        self.accept = self._seq(list(tree), start)
        closures = [self._closure(i) for i in range(len(self._eps))]
        self._trans: list[list[tuple[int, int]]] = [
            [(mask, closures[target]) for mask, target in edges]
            for edges in self._edges
        ]
        self.start = closures[start]
        self.accept_bit = 1 << self.accept
        self.live = 0
        for i, edges in enumerate(self._edges):
            if edges:
                self.live |= 1 << i
        masks = {mask for edges in self._edges for mask, _ in edges}
        classes: dict[tuple[int, ...], int] = {}
        for digit in range(10):
            signature = tuple(sorted(mask for mask in masks if mask >> digit & 1))
            classes.setdefault(signature, digit)
        self._reps = tuple(classes.values())
        self._step_memo: dict[tuple[int, int], int] = {}
        self._class_memo: dict[tuple[int, int], int] = {}

    def _new(self) -> int:
        if len(self._eps) >= _MAX_NFA_STATES:
            raise _Unsupported("pattern too large")
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _edge(self, state: int, mask: int) -> int:
        target = self._new()
        if mask:
            self._edges[state].append((mask, target))
        return target

    def _seq(self, items: list[tuple[Any, Any]], state: int) -> int:
        for op, av in items:
            state = self._item(op, av, state)
        return state

    def _item(self, op: Any, av: Any, state: int) -> int:
        c = _sre_c
        if op is c.LITERAL:
            return self._edge(state, _char_mask(av))
        if op is c.NOT_LITERAL:
            return self._edge(state, _ALL_DIGITS & ~_char_mask(av))
        if op is c.ANY:
            return self._edge(state, _ALL_DIGITS)
        if op is c.IN:
            return self._edge(state, _set_mask(av))
        if op is c.SUBPATTERN:
            return self._seq(list(av[-1]), state)
        if op is c.AT and av is c.AT_END:
            # Passable here; whether it passes depends only on the total length.
            self.anchored = True
            return state
        if op is c.BRANCH:
            exit_state = self._new()
            for alternative in av[1]:
                entry = self._new()
                self._eps[state].append(entry)
                self._eps[self._seq(list(alternative), entry)].append(exit_state)
            return exit_state
        if op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            lo, hi, body = av
            for _ in range(lo):
                state = self._seq(list(body), state)
            if hi >= c.MAXREPEAT:
                loop = self._new()
                self._eps[state].append(loop)
                self._eps[self._seq(list(body), loop)].append(loop)
                return loop
            exit_state = self._new()
            self._eps[state].append(exit_state)
            for _ in range(hi - lo):
                state = self._seq(list(body), state)
                self._eps[state].append(exit_state)
            return exit_state
        raise _Unsupported(f"regex construct {op}")

    def _closure(self, state: int) -> int:
        seen = 1 << state
        stack = [state]
        while stack:
            for nxt in self._eps[stack.pop()]:
                if not seen >> nxt & 1:
                    seen |= 1 << nxt
                    stack.append(nxt)
        return seen

    def step(self, states: int, digit: int) -> int:
        """States reachable from ``states`` by reading ``digit``."""
        key = (states, digit)
        out = self._step_memo.get(key)
        if out is None:
            out = 0
            rest = states
            while rest:
                low = rest & -rest
                for mask, closure in self._trans[low.bit_length() - 1]:
                    if mask >> digit & 1:
                        out |= closure
                rest ^= low
            self._step_memo[key] = out
        return out

    def run(self, states: int, known: str) -> int:
        """States after reading the known digits."""
        for ch in known:
            if not states:
                break
            states = self.step(states, ord(ch) - 48)
        return states

    def classify(self, states: int, remaining: int) -> int:
        """_ALL/_NONE if every/no continuation of ``remaining`` digits accepts."""
        if remaining == 0:
            return _ALL if states & self.accept_bit else _NONE
        if not states:
            return _NONE
        key = (states, remaining)
        out = self._class_memo.get(key)
        if out is None:
            seen: set[int] = set()
            for digit in self._reps:
                seen.add(self.classify(self.step(states, digit), remaining - 1))
                if _MIXED in seen or len(seen) > 1:
                    break
            out = seen.pop() if len(seen) == 1 else _MIXED
            self._class_memo[key] = out
        return out

    def confined(self, known: str) -> bool:
        """True if no path of the pattern can read past ``known``."""
        if self.max_width is not None and self.max_width <= len(known):
            return True
        states = self.start
        for ch in known:
            if not states & self.live:
                return True
            states = self.step(states, ord(ch) - 48)
        return not states & self.live


def _char_mask(code: int) -> int:
    """Bit for an ASCII digit code point, 0 for anything a digit cannot match."""
    return 1 << (code - 48) if 48 <= code <= 57 else 0


def _set_mask(items: list[tuple[Any, Any]]) -> int:
    """Digits matched by a character class."""
    c = _sre_c
    mask = 0
    negate = False
    for op, av in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            mask |= _char_mask(av)
        elif op is c.RANGE:
            for code in range(max(av[0], 48), min(av[1], 57) + 1):
                mask |= _char_mask(code)
        elif op is c.CATEGORY:
            if av in (c.CATEGORY_DIGIT, c.CATEGORY_WORD, c.CATEGORY_NOT_SPACE):
                mask |= _ALL_DIGITS
            elif av not in (
                c.CATEGORY_NOT_DIGIT,
                c.CATEGORY_NOT_WORD,
                c.CATEGORY_SPACE,
            ):
                raise _Unsupported(f"category {av}")
        else:
            raise _Unsupported(f"class item {op}")
    return _ALL_DIGITS & ~mask if negate else mask


@functools.cache
def _nfa(pattern: str) -> _Nfa | None:
    """The NFA for a metadata pattern, or None if it uses unmodelled constructs."""
    try:
        return _Nfa(pattern)
    except (_Unsupported, RecursionError):
        return None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiled exactly as phonenumbers.re_util.re_compile does."""
    return re.compile(pattern)


# --------------------------------------------------------------------------
# phonenumbers.parse replayed on a class of numbers: (known prefix, unknown count).
# --------------------------------------------------------------------------

_Sym = tuple[str, int]  # every string known + <n unknown digits>

_TOO_SHORT_AFTER_IDD = NumberParseException.TOO_SHORT_AFTER_IDD
_INVALID_COUNTRY_CODE = NumberParseException.INVALID_COUNTRY_CODE
_VR = phonenumbers.ValidationResult
_test_number_length = getattr(_pnu, "_test_number_length", None)
_MIN_NSN = getattr(_pnu, "_MIN_LENGTH_FOR_NSN", None)
_MAX_NSN = getattr(_pnu, "_MAX_LENGTH_FOR_NSN", None)
_MAX_CC = getattr(_pnu, "_MAX_LENGTH_COUNTRY_CODE", None)
_FAST_PATH_AVAILABLE = None not in (_test_number_length, _MIN_NSN, _MAX_NSN, _MAX_CC)


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
    raise _Undetermined


def _startswith(sym: _Sym, literal: str) -> bool:
    if len(literal) > _length(sym):
        return False
    known = sym[0]
    size = min(len(known), len(literal))
    if known[:size] != literal[:size]:
        return False
    if size == len(literal):
        return True
    raise _Undetermined


def _prefix_match(pattern: str, sym: _Sym) -> re.Match[str] | None:
    """pattern.match() on every member, valid when no path reads past the prefix.

    The members then differ only in characters no path looks at (and a '$' sees
    the same total length in all of them), so any member gives the answer.
    """
    known, unknown = sym
    if unknown:
        nfa = _nfa(pattern)
        if nfa is None or not nfa.confined(known):
            raise _Undetermined
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
    nfa = _nfa(pattern)
    if nfa is None or nfa.anchored:
        raise _Undetermined
    verdict = nfa.classify(nfa.run(nfa.start, known), unknown)
    if verdict == _MIXED:
        raise _Undetermined
    return verdict == _ALL


def _length_result(length: int, metadata: Any) -> Any:
    """phonenumbers' length check, which looks at nothing but the length."""
    return _test_number_length("0" * length, metadata)


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
        raise _Unsupported("national prefix transform rule")
    stripped = _drop(sym, match.end())
    if _general_match(sym, metadata) and not _general_match(stripped, metadata):
        return sym
    return stripped


def _extract_country_code(sym: _Sym) -> tuple[int, _Sym]:
    """_extract_country_code: the first 1-3 digits if they are a calling code."""
    length = _length(sym)
    if length == 0 or _char(sym, 0) == "0":
        return 0, sym
    for size in range(1, min(length, _MAX_CC) + 1):
        if size > len(sym[0]):
            raise _Undetermined
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
        if _length(full) <= _MIN_NSN:
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
_SLOW = "slow"  # decided: use phonenumbers for this class
_DEEP = "deep"  # undecided: look at more digits

# Key widths (characters of the cleaned number, '+' included) of the rule tables.
# Nearly all numbers are decided by the first three or four digits, so the first
# table stays small; undecided classes look further, then use phonenumbers.
_LEVELS = (4, 7, 10)
_FIRST_WIDTH = _LEVELS[0]
_MAX_FAST_LENGTH = MAX_DIGITS + 1
_MAX_ENTRIES = 300_000  # per plan (~25k per 1M-row upload); rebuilt past this


class _Plan:
    """Per-region rules mapping (length, prefix) classes of numbers to keys."""

    def __init__(self, region: str, verify: bool | None = None) -> None:
        self.region = region
        self.metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        self.verify = SPOT_CHECK_RULES if verify is None else verify
        self.lock = threading.Lock()
        self.mismatches: list[tuple[str, str, str]] = []
        self.stats = {"rules": 0, "slow_classes": 0, "deep_classes": 0}
        self._reset()

    def _reset(self) -> None:
        size = _MAX_FAST_LENGTH + 1
        self.tables: list[list[dict[str, object]]] = [
            [{} for _ in range(size)] for _ in _LEVELS
        ]
        self.first = self.tables[0]
        self.nodes: dict[tuple[bool, int, str], object] = {}
        self.entries = 0

    def rule(self, cleaned: str) -> object:
        """The rule for a cleaned '+?digits' number of fast length, or _SLOW."""
        with self.lock:
            if self.entries > _MAX_ENTRIES:
                self._reset()
            size = len(cleaned)
            plus = cleaned[0] == "+"
            digits = cleaned[1:] if plus else cleaned
            start = 0
            entry: object = _DEEP
            for level, width in enumerate(_LEVELS):
                table = self.tables[level][size]
                head = cleaned[:width]
                entry = table.get(head)
                if entry is None:
                    entry = self._walk(plus, digits, start, width - plus)
                    if entry is _DEEP and level == len(_LEVELS) - 1:
                        entry = _SLOW
                    table[head] = entry
                    self.entries += 1
                if entry is not _DEEP:
                    break
                start = width - plus + 1
            return entry

    def _walk(self, plus: bool, digits: str, start: int, stop: int) -> object:
        """The shallowest decided class containing the number, or _DEEP."""
        count = len(digits)
        for depth in range(start, min(stop, count) + 1):
            key = (plus, count, digits[:depth])
            node = self.nodes.get(key)
            if node is None:
                node = self._analyse(plus, count, digits[:depth])
                self.nodes[key] = node
                self.entries += 1
            if node is not _DEEP:
                return node
        return _DEEP

    def _analyse(self, plus: bool, count: int, known: str) -> object:
        """Decide the class, then spot-check the rule against phonenumbers."""
        try:
            rule = self._derive(plus, (known, count - len(known)))
        except _Undetermined:
            if len(known) < count:
                self.stats["deep_classes"] += 1
                return _DEEP
            self.stats["slow_classes"] += 1
            return _SLOW
        except Exception:  # unsupported metadata, or phonenumbers internals moved
            self.stats["slow_classes"] += 1
            return _SLOW
        if self.verify and not self._spot_check(rule, plus, count, known):
            self.stats["slow_classes"] += 1
            return _SLOW
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
        if _length(sym) < (3 if plus else _MIN_NSN):
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
                raise _Unsupported("unreachable: '+' number without country code")
            national = sym
            code = metadata.country_code
        if _length(national) < _MIN_NSN:
            return fallback
        if metadata is not None:
            candidate = _strip_national_prefix(national, metadata)
            if _length_result(_length(candidate), metadata) not in (
                _VR.TOO_SHORT,
                _VR.IS_POSSIBLE_LOCAL_ONLY,
                _VR.INVALID_LENGTH,
            ):
                national = candidate
        if _length(national) > _MAX_NSN:
            return fallback
        if code not in COUNTRY_CODE_TO_REGION_CODE:
            return fallback
        number_metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            code, region_code_for_country_code(code)
        )
        if number_metadata is None:
            raise _Unsupported("no metadata for calling code")
        if _length_result(_length(national), number_metadata) not in (
            _VR.IS_POSSIBLE,
            _VR.IS_POSSIBLE_LOCAL_ONLY,
        ):
            return fallback
        return f"+{code}", lead + _length(sym) - _length(national)


_plans: dict[str, _Plan] = {}


def _plan(region: str) -> _Plan | None:
    """The fast-path plan for a region, or None when only phonenumbers will do."""
    plan = _plans.get(region)
    if plan is None:
        if not _FAST_PATH_AVAILABLE or region not in SUPPORTED_REGIONS:
            return None
        plan = _plans.setdefault(region, _Plan(region))
    return plan


def _is_fast_shape(cleaned: str) -> bool:
    """'+'? then ASCII digits, short enough for the per-length tables."""
    digits = cleaned[1:] if cleaned[:1] == "+" else cleaned
    return (
        0 < len(cleaned) <= _MAX_FAST_LENGTH and digits.isascii() and digits.isdigit()
    )


def match_key(cleaned: str, region: str) -> str:
    """E.164 key for DNC/duplicate matching; equals reference_match_key, faster."""
    plan = _plans.get(region) or _plan(region)
    size = len(cleaned)
    if (
        plan is None
        or not 0 < size <= _MAX_FAST_LENGTH
        or not cleaned.isascii()
        or not (cleaned.isdigit() or (cleaned[0] == "+" and cleaned[1:].isdigit()))
    ):
        return _slow_key(cleaned, region)
    rule = plan.first[size].get(cleaned[:_FIRST_WIDTH])
    if rule.__class__ is not tuple:
        rule = plan.rule(cleaned)
        if rule is _SLOW:
            return _slow_key(cleaned, region)
    return rule[0] + cleaned[rule[1] :]  # type: ignore[index]


def normalise(raw: str | int | None, region: str) -> tuple[str, str]:
    """(cleaned, match key) for one raw value; raises InvalidNumber."""
    cleaned = _quick_clean(raw)
    if cleaned is not None:
        plan = _plans.get(region)
        if plan is not None:
            rule = plan.first[len(cleaned)].get(cleaned[:_FIRST_WIDTH])
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
    raws: Iterable[str | int | None], region: str, plan: _Plan
) -> list[tuple[str, str] | InvalidNumber]:
    """The normalise_many loop with its lookups hoisted into locals."""
    out: list[tuple[str, str] | InvalidNumber] = []
    append = out.append
    first = plan.first
    second = plan.tables[1]
    first_width = _FIRST_WIDTH
    second_width = _LEVELS[1]
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
        if rule is _DEEP:
            rule = second[size].get(cleaned[:second_width])
        if rule.__class__ is not tuple:
            rule = slow_rule(cleaned)
            if rule is _SLOW:
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
