"""Which number prefixes ring in a time zone, so a zone filter is plain SQL.

The calling rules (calling_rules/zones.py) give a number the zones phonenumbers'
time-zone table lists for the longest prefix of its E.164 digits that the table has
(at most nine digits; "Etc/Unknown" means no known zone). So the numbers of a zone
are a set of prefixes: a table prefix whose zones include it, less the longer table
prefixes under it whose zones do not. Pushed down to leaves and merged back where
all ten digits agree, that set is prefix-free, and a match key is in the zone when
its first n characters are one of the set's prefixes of length n: at most nine
`substr(match_key, 1, n) IN (...)` tests, hashed by the database, no per-row Python.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path

from phonenumbers.tzdata import TIMEZONE_DATA

UNKNOWN_ZONE = "Etc/Unknown"
DIGITS = "0123456789"
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+")


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """(prefix -> its known zones, prefixes with a longer table prefix under them)."""
    zones = {
        prefix: frozenset(z for z in names if z != UNKNOWN_ZONE)
        for prefix, names in TIMEZONE_DATA.items()
    }
    split = frozenset(
        prefix[:n] for prefix in TIMEZONE_DATA for n in range(len(prefix))
    )
    return zones, split


@lru_cache(maxsize=1)
def phone_zones() -> tuple[str, ...]:
    """Every zone the table places a number in, sorted (the editor's choices)."""
    return tuple(sorted(set().union(*_table()[0].values())))


@lru_cache(maxsize=256)
def prefixes_ringing_in(wanted: frozenset[str]) -> tuple[str, ...]:
    """The prefix-free E.164 prefixes ("+1201") of numbers with a zone in `wanted`.

    An empty `wanted` means every known zone, for "the number has a known zone".
    """
    zones, split = _table()
    out: list[str] = []

    def hits(known: frozenset[str]) -> bool:
        return bool(known & wanted) if wanted else bool(known)

    def walk(prefix: str, inherited: frozenset[str]) -> bool:
        """True if all numbers under the prefix are in; else add the parts that are."""
        known = zones.get(prefix, inherited)
        if prefix not in split:
            return hits(known)
        inside = [walk(prefix + d, known) for d in DIGITS]
        if all(inside):
            return True
        out.extend(prefix + d for d, yes in zip(DIGITS, inside, strict=True) if yes)
        return False

    if walk("", frozenset()):
        return ("+",)
    return tuple(sorted("+" + p for p in out))


def _tzif(name: str) -> bytes | None:
    """The zone's compiled rules, from the system's zone files or the tzdata package."""
    for root in zoneinfo.TZPATH:
        path = Path(root, name)
        if path.is_file():
            return path.read_bytes()
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


@lru_cache(maxsize=1)
def _by_rules() -> dict[bytes, tuple[str, ...]]:
    """The table's zones grouped by the digest of their compiled rules."""
    out: dict[bytes, list[str]] = {}
    for name in phone_zones():
        data = _tzif(name)
        if data is not None:
            out.setdefault(hashlib.sha256(data).digest(), []).append(name)
    return {digest: tuple(names) for digest, names in out.items()}


@lru_cache(maxsize=1024)
def table_names(zone: str) -> tuple[str, ...]:
    """The table's name(s) for an IANA zone: itself, or the link it is an alias of.

    phonenumbers writes some zones by their older names (Asia/Calcutta for
    Asia/Kolkata); a zone whose compiled rules are byte for byte those of a table
    zone is that zone. () when no number rings in it.
    """
    if zone in phone_zones():
        return (zone,)
    if not _ZONE_NAME.fullmatch(zone):
        return ()
    data = _tzif(zone)
    if data is None:
        return ()
    return _by_rules().get(hashlib.sha256(data).digest(), ())
