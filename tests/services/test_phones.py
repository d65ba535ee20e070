"""Phone cleaning, match keys (fast path == phonenumbers reference) and time zones."""

from __future__ import annotations

import importlib.util
import itertools
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.services import phones
from portal.services.phones import (
    InvalidNumber,
    clean_number,
    digit_regex,
    match_key,
    normalise,
    normalise_many,
    number_time_zones,
    reference_match_key,
)

REGIONS = ["US", "GB", "PK", "DE"]
MORE_REGIONS = REGIONS + ["CA", "AU", "IN", "BR", "AR", "MX", "IT", "FR", "JP", "CN"]


def _load_bench():
    """Import tests/bench/bench_phones.py so the corpus uses the benchmark shapes."""
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_phones.py"
    spec = importlib.util.spec_from_file_location("bench_phones", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_phones", module)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(autouse=True, scope="module")
def _raw_derivations() -> Iterator[None]:
    """Test the rule derivation itself: no spot-check safety net, fresh tables."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phones, "SPOT_CHECK_RULES", False)
        patch.setattr(phones, "_plans", {})
        yield


def _no_mismatches() -> None:
    """Rules derived while spot-checking must never have disagreed."""
    for plan in phones._plans.values():
        assert plan.mismatches == []


# ---------------------------------------------------------------- cleaning


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("(212) 555-0123", "2125550123"),
        ("212-555-0123", "2125550123"),
        ("212.555.0123", "2125550123"),
        ("212/555 0123", "2125550123"),
        ("+1 212 555 0123", "+12125550123"),
        ("  +44 (0)20 7946 0958 ", "+4402079460958"),
        ("0044 20 7946 0958", "00442079460958"),  # '00' kept as given
        ("011 44 20 7946 0958", "011442079460958"),
        ("020\t7946\xa00958", "02079460958"),
        ("\ufeff03062558180", "03062558180"),  # BOM from a CSV export
        ("0306\u20132558180", "03062558180"),  # en dash
        ("[0306] 2558180", "03062558180"),
        ("*123#", "*123#"),
        ("#31#2125550123", "#31#2125550123"),
        ("*21*555#", "*21*555#"),
        ("911", "911"),
        (2125550123, "2125550123"),
        (911, "911"),
        ("۰۳۰۶۲۵۵۸۱۸۰", "03062558180"),  # Extended Arabic-Indic digits
        ("＋４４ ２０ ７９４６ ０９５８", "+442079460958"),  # full width
        ("1" * 20, "1" * 20),
        ("+" + "1" * 20, "+" + "1" * 20),
    ],
)
def test_clean_number_strips_formatting(raw: str | int, cleaned: str) -> None:
    assert clean_number(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ("-().", "empty"),
        ("12a45", "has letters"),
        ("555-CALL-NOW", "has letters"),
        ("212 555 0123 ext 4", "has letters"),
        ("tel:2125550123", "has letters"),
        ("12,345", "has invalid characters ','"),
        ("'02079460958", 'has invalid characters "\'"'),
        ("212_555_0123", "has invalid characters '_'"),
        ("1+2125550123", "'+' is only allowed at the start"),
        ("++442079460958", "'+' is only allowed at the start"),
        ("12", "too short (min 3 digits)"),
        ("+", "too short (min 3 digits)"),
        ("+12", "too short (min 3 digits)"),
        ("*#", "too short (min 3 digits)"),
        ("1" * 21, "too long (max 20 digits)"),
        ("+" + "1" * 21, "too long (max 20 digits)"),
        ("+" + "1" * 20 + "#" * 10, "too long (max 30 characters)"),
        ("*" * 12 + "1" * 19, "too long (max 30 characters)"),
        (12, "too short (min 3 digits)"),
        (-2125550123, "negative number"),
        (True, "not a phone number (boolean)"),
        (2125550123.0, "not text or a whole number (float)"),
    ],
)
def test_clean_number_rejects(raw: object, reason: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        clean_number(raw)  # type: ignore[arg-type]
    assert caught.value.reason == reason
    assert str(caught.value) == reason
    assert caught.value.raw == raw
    assert isinstance(caught.value, ValueError)


# ---------------------------------------------------------------- match keys

SHAPES = [
    "(212) 555-0123",
    "212-555-0123",
    "1 212 555 0123",
    "+1 212 555 0123",
    "011 44 20 7946 0958",
    "0044 20 7946 0958",
    "020 7946 0958",
    "+44 20 7946 0958",
    "+44 (0)20 7946 0958",
    "07700 900123",
    "03062558180",
    "+923062558180",
    "0092 306 2558180",
    "042 35761234",
    "030 12345678",
    "+49 176 12345678",
    "0176 12345678",
    "911",
    "112",
    "999",
    "12345",
    "*123#",
    "#31#2125550123",
    "+999123456",
    "+0044 20 7946 0958",
    "0000000",
    "+80012345678",
    "44207946095800000000",
]


@pytest.mark.parametrize("region", MORE_REGIONS)
def test_match_key_equals_reference_on_benchmark_shapes(region: str) -> None:
    for raw in SHAPES:
        cleaned = clean_number(raw)
        assert match_key(cleaned, region) == reference_match_key(cleaned, region), raw


@pytest.mark.parametrize(
    ("raw", "region", "key"),
    [
        ("(212) 555-0123", "US", "+12125550123"),
        ("1 212 555 0123", "US", "+12125550123"),
        ("+1 212 555 0123", "GB", "+12125550123"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "PK", "+442079460958"),
        ("03062558180", "PK", "+923062558180"),
        ("+923062558180", "US", "+923062558180"),
        ("030 12345678", "DE", "+493012345678"),
        ("*123#", "US", "*123#"),
        # phonenumbers semantics, not ours: US callers dial 011, so '00' is no
        # international prefix there and the number keeps its digits.
        ("0044 20 7946 0958", "US", "00442079460958"),
        # Unparseable or impossible: the digits without '+'.
        ("+999123456", "US", "999123456"),
        ("911", "US", "911"),
    ],
)
def test_match_key_examples(raw: str, region: str, key: str) -> None:
    cleaned = clean_number(raw)
    assert reference_match_key(cleaned, region) == key
    assert match_key(cleaned, region) == key


@pytest.mark.parametrize("region", REGIONS)
def test_match_key_equals_reference_on_benchmark_upload(region: str) -> None:
    rows = bench.generate_upload(15_000, region, seed=7)
    expected = bench._reference_normalise(rows, region)
    assert normalise_many(rows, region) == expected
    for raw, want in zip(rows[:3000], expected[:3000], strict=True):
        if isinstance(want, InvalidNumber):
            with pytest.raises(InvalidNumber):
                normalise(raw, region)
        else:
            assert normalise(raw, region) == want


@pytest.mark.parametrize("region", MORE_REGIONS)
def test_match_key_equals_reference_on_random_digits(region: str) -> None:
    rng = random.Random(f"digits-{region}")
    for _ in range(4000):
        digits = str(rng.randrange(10**20)).zfill(20)[: rng.randint(3, 20)]
        for cleaned in (digits, "+" + digits):
            got = match_key(cleaned, region)
            assert got == reference_match_key(cleaned, region), cleaned


def _prefixed_numbers(region: str) -> list[str]:
    """International-prefix, calling-code and trunk-prefix combinations."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    own = str(metadata.country_code)
    leads = ["", "+", "00", "011", "0011", "+0", "+00", "+011", "0", "1", own]
    codes = ["", "1", "44", "92", "49", "7", "86", "800", "979", "0", own]
    trunks = ["", "0", "1", "9", "90", metadata.national_prefix or ""]
    rng = random.Random(f"prefixed-{region}")
    out = []
    for lead, code, trunk in itertools.product(leads, codes, trunks):
        for size in (0, 3, 7, 10, 14):
            number = lead + code + trunk + str(rng.randrange(10**size or 1))[:size]
            digits = number.lstrip("+")
            if 3 <= len(digits) <= 20 and "+" not in digits:
                out.append(number)
    return out


@pytest.mark.parametrize("region", MORE_REGIONS)
def test_match_key_equals_reference_on_prefixed_numbers(region: str) -> None:
    for cleaned in _prefixed_numbers(region):
        got = match_key(cleaned, region)
        assert got == reference_match_key(cleaned, region), cleaned


@st.composite
def _numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A region and a cleaned number built from the prefixes parsing cares about."""
    region = draw(st.sampled_from(MORE_REGIONS))
    own = str(phonenumbers.country_code_for_region(region))
    lead = draw(st.sampled_from(["", "+", "00", "011", "0", "+0", own, "+" + own]))
    code = draw(st.sampled_from(["", "1", "44", "92", "49", "55", "54", "800"]))
    trunk = draw(st.sampled_from(["", "0", "1", "15", "90"]))
    rest = draw(st.text("0123456789", max_size=20))
    number = (lead + code + trunk + rest)[:21]
    digits = number[1:] if number.startswith("+") else number
    if "+" in digits or not 3 <= len(digits) <= 20:
        number = rest.rjust(3, "5")
    return region, number


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_numbers())
def test_match_key_equals_reference_hypothesis(case: tuple[str, str]) -> None:
    region, cleaned = case
    assert match_key(cleaned, region) == reference_match_key(cleaned, region)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789+#* -()", min_size=0, max_size=24),
    st.sampled_from(REGIONS),
)
def test_match_key_equals_reference_on_any_text(text: str, region: str) -> None:
    assert match_key(text, region) == reference_match_key(text, region)


def test_match_key_for_service_codes_is_the_cleaned_string() -> None:
    for code in ["*123#", "#31#2125550123", "*21*555#"]:
        assert match_key(code, "US") == code
        assert reference_match_key(code, "US") == code


@pytest.mark.parametrize("region", ["ZZ", "us", "XX", "001"])
def test_unsupported_region_uses_phonenumbers(region: str) -> None:
    for cleaned in ["2125550123", "+442079460958", "+999123"]:
        assert match_key(cleaned, region) == reference_match_key(cleaned, region)
    assert normalise_many(["(212) 555-0123", "x"], region)[0] == (
        "2125550123",
        reference_match_key("2125550123", region),
    )


def test_spot_checked_plans_agree_with_reference() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phones, "_plans", {})
        patch.setattr(phones, "SPOT_CHECK_RULES", True)
        for region in REGIONS:
            rows = bench.generate_upload(3000, region, seed=11)
            assert normalise_many(rows, region) == bench._reference_normalise(
                rows, region
            )
        _no_mismatches()
        assert phones._plans["US"].stats["rules"] > 0


def test_slow_path_cache_is_bounded() -> None:
    assert phones._slow_key.cache_info().maxsize == phones.SLOW_CACHE_SIZE == 200_000


# ------------------------------------------------------- the class analysis


def _metadata_patterns() -> tuple[list[str], list[str]]:
    """(prefix patterns, general-description patterns) of every region."""
    prefixes, generals = set(), set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for pattern in (
            metadata.international_prefix,
            metadata.national_prefix_for_parsing,
        ):
            if pattern:
                prefixes.add(pattern)
        if metadata.general_desc and metadata.general_desc.national_number_pattern:
            generals.add(metadata.general_desc.national_number_pattern)
    return sorted(prefixes), sorted(generals)


PREFIX_PATTERNS, GENERAL_PATTERNS = _metadata_patterns()


def _tails(size: int) -> list[str]:
    return ["".join(t) for t in itertools.product("0123456789", repeat=size)]


def test_classification_is_exact_against_brute_force() -> None:
    rng = random.Random("classify")
    checked = 0
    for pattern in rng.sample(GENERAL_PATTERNS, 60):
        nfa = digit_regex.nfa(pattern)
        if nfa is None:
            continue
        compiled = re.compile(pattern)
        for _ in range(8):
            tail = rng.randint(0, 3)
            total = rng.randint(tail, 12)
            known = str(rng.randrange(10**20)).zfill(20)[: total - tail]
            if rng.random() < 0.5:  # prefixes that real numbers of it start with
                sample = _sample_member(compiled, rng)
                if sample and len(sample) >= tail:
                    known = sample[: len(sample) - tail]
            verdict = nfa.classify(nfa.run(nfa.start, known), tail)
            hits = {bool(compiled.fullmatch(known + t)) for t in _tails(tail)}
            want = (
                digit_regex.MIXED
                if len(hits) == 2
                else (digit_regex.ALL if hits == {True} else digit_regex.NONE)
            )
            assert verdict == want, (pattern, known, tail)
            checked += 1
    assert checked > 300


def _sample_member(compiled: re.Pattern[str], rng: random.Random) -> str | None:
    """A random digit string the pattern fully matches, if one is found quickly."""
    for _ in range(400):
        size = rng.randint(2, 12)
        candidate = str(rng.randrange(10**size)).zfill(size)
        if compiled.fullmatch(candidate):
            return candidate
    return None


def test_confined_prefix_match_is_the_same_for_every_continuation() -> None:
    rng = random.Random("confined")
    confined = 0
    for pattern in PREFIX_PATTERNS:
        nfa = digit_regex.nfa(pattern)
        assert nfa is not None
        compiled = re.compile(pattern)
        for size in range(0, 8):
            known = "".join(rng.choice("00123456789") for _ in range(size))
            if not nfa.confined(known):
                continue
            confined += 1
            for tails in (
                _tails(1),
                _tails(2),
                [str(rng.randrange(10**7)).zfill(7) for _ in range(20)],
            ):
                seen = set()
                for tail in tails:
                    match = compiled.match(known + tail)
                    seen.add(match and (match.span(), match.groups()))
                assert len(seen) == 1, (pattern, known, seen)
    assert confined > 300


def test_every_region_metadata_pattern_is_modelled() -> None:
    unsupported = [
        p for p in PREFIX_PATTERNS + GENERAL_PATTERNS if not digit_regex.nfa(p)
    ]
    assert unsupported == []


# ---------------------------------------------------------------- normalise


def test_normalise_returns_cleaned_and_key() -> None:
    assert normalise("(212) 555-0123", "US") == ("2125550123", "+12125550123")
    assert normalise(2125550123, "US") == ("2125550123", "+12125550123")
    with pytest.raises(InvalidNumber, match="has letters"):
        normalise("12a45", "US")


def test_normalise_many_keeps_order_and_reports_rejects() -> None:
    rows = [
        "(212) 555-0123",
        "12a45",
        None,
        2125550123,
        "*123#",
        "",
        "+44 20 7946 0958",
    ]
    out = normalise_many(rows, "US")  # type: ignore[arg-type]
    assert out[0] == ("2125550123", "+12125550123")
    assert isinstance(out[1], InvalidNumber) and out[1].reason == "has letters"
    assert isinstance(out[2], InvalidNumber) and out[2].reason == "empty"
    assert out[3] == ("2125550123", "+12125550123")
    assert out[4] == ("*123#", "*123#")
    assert isinstance(out[5], InvalidNumber) and out[5].reason == "empty"
    assert out[6] == ("+442079460958", "+442079460958")
    assert out[1].__traceback__ is None


def test_normalise_many_accepts_iterators() -> None:
    rows = iter(["212-555-0123", "020 7946 0958"])
    assert normalise_many(rows, "GB") == [
        ("2125550123", reference_match_key("2125550123", "GB")),
        ("02079460958", "+442079460958"),
    ]


# ---------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("cleaned", "region", "zones"),
    [
        ("2125550123", "US", ["America/New_York"]),
        ("+12125550123", "GB", ["America/New_York"]),
        ("02079460958", "GB", ["Europe/London"]),
        ("03062558180", "PK", ["Asia/Karachi"]),
        ("12345", "US", []),  # phonenumbers says Etc/Unknown
        ("+80012345678", "US", []),
        ("*123#", "US", []),
        ("+999123", "US", []),  # does not parse
    ],
)
def test_number_time_zones(cleaned: str, region: str, zones: list[str]) -> None:
    assert number_time_zones(cleaned, region) == zones


def test_number_time_zones_returns_a_fresh_list() -> None:
    first = number_time_zones("2125550123", "US")
    first.append("mutated")
    assert number_time_zones("2125550123", "US") == ["America/New_York"]


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789+#* -().\t\xa0/a١", max_size=26) | st.integers())
def test_quick_cleaning_agrees_with_the_general_rules(raw: str | int) -> None:
    quick = phones._quick_clean(raw)
    try:
        general: str | None = phones._clean_general(raw)
    except InvalidNumber:
        general = None
    if quick is not None:
        assert quick == general
    assert (clean_number(raw) if general is not None else None) == general


# ---------------------------------------------------------------- public API only


def test_phones_uses_no_private_internals() -> None:
    """No private names of `re` or `phonenumbers`: an upgrade of either cannot
    break the fast path silently (the metadata patterns are parsed by digit_regex)."""
    import ast

    folder = Path(phones.__file__).parent
    found = []
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [a.name for a in node.names]
                private = [n for n in names if n.startswith("_")]
                if node.module.split(".")[0] in ("re", "phonenumbers") and private:
                    found.append(f"{path.name}: from {node.module} import {private}")
                if node.module in ("sre_parse", "sre_constants", "re._parser"):
                    found.append(f"{path.name}: {node.module}")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(("sre_", "re._")):
                        found.append(f"{path.name}: import {alias.name}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and isinstance(node.value, ast.Name)
                and node.value.id in ("re", "phonenumbers", "_pnu")
            ):
                found.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert found == []


def test_length_check_equals_phonenumbers() -> None:
    """replay's length check gives phonenumbers' own answer for every calling code
    (is_possible_number_for_type_with_reason runs phonenumbers' length test)."""
    from phonenumbers import (
        COUNTRY_CODE_TO_REGION_CODE,
        PhoneMetadata,
        PhoneNumber,
        PhoneNumberType,
        is_possible_number_for_type_with_reason,
        region_code_for_country_code,
    )

    from portal.services.phones.replay import _length_result

    checked = 0
    for code in COUNTRY_CODE_TO_REGION_CODE:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            code, region_code_for_country_code(code)
        )
        if metadata is None:
            continue
        for length in range(1, 21):
            number = PhoneNumber(country_code=code, national_number=int("1" * length))
            expected = is_possible_number_for_type_with_reason(
                number, PhoneNumberType.UNKNOWN
            )
            assert _length_result(length, metadata) == expected, (code, length)
            checked += 1
    assert checked > 4000
