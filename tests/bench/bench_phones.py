"""Benchmark phone normalisation on a realistic upload: reference vs fast path.

Run ``python tests/bench/bench_phones.py [--count N] [--region US]``.  It is also
importable: ``generate_upload`` builds the mixed-format data the corpus test uses.
Everything runs in this one process, pinned to one core where the OS allows it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from portal.services import phones  # noqa: E402

REGIONS = ("US", "GB", "PK", "DE")
# How each region's callers dial abroad, used for the "00"/"011" style forms.
IDD = {"US": "011", "GB": "00", "PK": "00", "DE": "00"}
NATIONAL_PREFIX = {"US": "1", "GB": "0", "PK": "0", "DE": "0"}
COUNTRY_CODE = {"US": "1", "GB": "44", "PK": "92", "DE": "49"}


def _digits(rng: random.Random, count: int) -> str:
    """count random digits."""
    return str(rng.randrange(10**count)).zfill(count)


def _nsn(rng: random.Random, region: str) -> tuple[str, list[int]]:
    """A national significant number for the region and its usual grouping."""
    if region == "US":
        area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"
        exchange = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
        return area + exchange + _digits(rng, 4), [3, 3, 4]
    if region == "GB":
        kind = rng.random()
        if kind < 0.4:
            return "7" + rng.choice("1345789") + _digits(rng, 8), [4, 6]
        if kind < 0.7:
            return "20" + rng.choice("378") + _digits(rng, 7), [2, 4, 4]
        return "1" + rng.choice("2345679") + _digits(rng, 8), [4, 6]
    if region == "PK":
        if rng.random() < 0.75:
            return "3" + rng.choice("01234") + _digits(rng, 8), [3, 7]
        return rng.choice(["42", "21", "51", "61"]) + _digits(rng, 8), [2, 8]
    if rng.random() < 0.5:  # DE mobile
        prefix = rng.choice(["151", "160", "170", "171", "176", "152", "157", "179"])
        return prefix + _digits(rng, rng.choice([7, 8])), [3, 8]
    area = rng.choice(["30", "40", "89", "69", "221", "211", "711", "351"])
    return area + _digits(rng, 10 - len(area) + rng.choice([-1, 0, 1])), [
        len(area),
        9,
    ]


def _group(digits: str, sizes: list[int], sep: str) -> str:
    """Split digits into groups the way people write them."""
    parts, at = [], 0
    for size in sizes:
        if at >= len(digits):
            break
        parts.append(digits[at : at + size])
        at += size
    if at < len(digits):
        parts[-1] += digits[at:]
    return sep.join(parts)


def _domestic(rng: random.Random, region: str) -> str:
    """A number of the home region written the way a local would."""
    nsn, sizes = _nsn(rng, region)
    prefix = NATIONAL_PREFIX[region]
    style = rng.random()
    if region == "US":
        if style < 0.25:
            return f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}"
        if style < 0.45:
            return f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
        if style < 0.55:
            return f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}"
        if style < 0.75:
            return nsn
        if style < 0.85:
            return "1" + nsn
        return f"1 {nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if style < 0.5:
        return prefix + _group(nsn, sizes, rng.choice([" ", "-", ""]))
    if style < 0.6:
        return prefix + nsn
    if style < 0.7:
        return f"({prefix}{nsn[: sizes[0]]}) {nsn[sizes[0] :]}"
    return prefix + _group(nsn, sizes, " ")


def _international(rng: random.Random, home: str, target: str) -> str:
    """A number of target written in international form by a caller in home."""
    nsn, sizes = _nsn(rng, target)
    code = COUNTRY_CODE[target]
    style = rng.random()
    if style < 0.45:
        return f"+{code} " + _group(nsn, sizes, " ")
    if style < 0.7:
        return f"+{code}{nsn}"
    if style < 0.85:
        return f"{IDD[home]} {code} " + _group(nsn, sizes, " ")
    if style < 0.92:  # the habit of keeping the trunk zero after the code
        return f"+{code} ({NATIONAL_PREFIX[target]}){nsn}"
    return f"{code}{nsn}"


SHORT_CODES = ["911", "112", "999", "411", "12345", "55555", "7726", "100", "1122"]
SERVICE_CODES = ["*123#", "#31#", "*21*12125550123#", "*#06#", "*100#", "**21*555#"]
INVALID = [
    "n/a",
    "12a45",
    "555-CALL-NOW",
    "",
    "12",
    "1+2125550123",
    "123456789012345678901",
    "tel: 212 555 0123",
    "212 555 0123 ext 4",
    "—",
    "none",
    "+",
    "'02079460958",
]


def generate_upload(count: int, region: str = "US", seed: int = 20240601) -> list[str]:
    """count raw cells: ~62% domestic, ~28% foreign, ~5% short, ~5% invalid."""
    rng = random.Random(seed)
    others = [r for r in REGIONS if r != region]
    rows: list[str] = []
    append = rows.append
    for _ in range(count):
        kind = rng.random()
        if kind < 0.62:
            append(_domestic(rng, region))
        elif kind < 0.90:
            append(_international(rng, region, rng.choice(others)))
        elif kind < 0.91:
            append(_international(rng, region, region))
        elif kind < 0.93:
            append(rng.choice(SHORT_CODES))
        elif kind < 0.94:
            append(rng.choice(SERVICE_CODES))
        elif kind < 0.95:
            digits = _digits(rng, rng.randint(3, 20))
            append(rng.choice(["", "+"]) + digits)
        elif kind < 0.99:
            append(rng.choice(INVALID))
        else:  # a mangled real number: a letter typed in
            text = _domestic(rng, region)
            at = rng.randrange(len(text))
            append(text[:at] + rng.choice("oOlIx") + text[at + 1 :])
    return rows


def _reference_normalise(
    raws: list[str], region: str
) -> list[tuple[str, str] | phones.InvalidNumber]:
    """What normalise_many must return, built from the plain reference."""
    out: list[tuple[str, str] | phones.InvalidNumber] = []
    for raw in raws:
        try:
            cleaned = phones.clean_number(raw)
        except phones.InvalidNumber as error:
            out.append(error)
            continue
        out.append((cleaned, phones.reference_match_key(cleaned, region)))
    return out


def _timed(
    label: str, count: int, work: Callable[[], object], repeat: int = 1
) -> tuple[float, object]:
    """Run work (from cold: state is reset first) repeat times; print the best."""
    best, result = float("inf"), None
    for _ in range(repeat):
        _fresh_state()
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    rate = count / best
    print(f"  {label:<44} {count:>9,} in {best:6.2f}s = {rate:>11,.0f}/s")
    return rate, result


def _fresh_state() -> None:
    """Forget plans and caches so a run starts cold like a new worker."""
    phones._plans.clear()
    phones._slow_key.cache_clear()


def run(
    count: int = 1_000_000,
    region: str = "US",
    reference_sample: int = 100_000,
    repeat: int = 3,
) -> dict[str, float]:
    """Benchmark one region and return the measured rates (best of repeat)."""
    rows = generate_upload(count, region)
    sample = rows[: min(reference_sample, count)]
    print(f"region {region}: {count:,} rows, best of {repeat}")
    ref_rate, expected = _timed(
        "reference: clean + phonenumbers",
        len(sample),
        lambda: _reference_normalise(sample, region),
    )
    cold_rate, result = _timed(
        "fast: normalise_many, cold tables",
        count,
        lambda: phones.normalise_many(rows, region),
        repeat,
    )
    assert result[: len(sample)] == expected, "fast path disagrees with reference"
    single_rate, _ = _timed(
        "fast: normalise() per row, cold tables",
        count,
        lambda: _normalise_each(rows, region),
        repeat,
    )
    phones.normalise_many(rows, region)
    warm_rate = count / min(
        _seconds(lambda: phones.normalise_many(rows, region)) for _ in range(repeat)
    )
    label = "fast: normalise_many, warm tables"
    print(f"  {label:<44} {count:>9,} {'':>12} = {warm_rate:>11,.0f}/s")
    cleaned = [item[0] for item in result if isinstance(item, tuple)]
    ref_key_rate, _ = _timed(
        "reference: reference_match_key (pre-cleaned)",
        len(cleaned[: len(sample)]),
        lambda: [phones.reference_match_key(c, region) for c in cleaned[: len(sample)]],
    )
    key_rate, _ = _timed(
        "fast: match_key, cold (pre-cleaned)",
        len(cleaned),
        lambda: [phones.match_key(c, region) for c in cleaned],
        repeat,
    )
    plan = phones._plan(region)
    invalid = sum(isinstance(item, phones.InvalidNumber) for item in result)
    service = sum(1 for c in cleaned if "#" in c or "*" in c)
    slow = [
        c
        for c in cleaned
        if plan is not None and phones._is_fast_shape(c) and plan.rule(c) is phones.SLOW
    ]
    print(
        f"  invalid {invalid / count:.1%}, #/* codes {service / count:.1%}, "
        f"numbers on the phonenumbers path {len(slow) / count:.3%} {slow[:3]}"
    )
    if plan is not None:
        print(f"  plan {plan.stats}, spot-check mismatches {len(plan.mismatches)}")
    print(
        f"  speed-up: normalise cold {cold_rate / ref_rate:.0f}x, "
        f"warm {warm_rate / ref_rate:.0f}x; match_key {key_rate / ref_key_rate:.0f}x"
    )
    return {
        "reference": ref_rate,
        "cold": cold_rate,
        "single": single_rate,
        "warm": warm_rate,
        "reference_match_key": ref_key_rate,
        "match_key": key_rate,
    }


def _normalise_each(
    raws: list[str], region: str
) -> list[tuple[str, str] | phones.InvalidNumber]:
    """One normalise() call per row, as a row-by-row importer would do."""
    out: list[tuple[str, str] | phones.InvalidNumber] = []
    for raw in raws:
        try:
            out.append(phones.normalise(raw, region))
        except phones.InvalidNumber as error:
            out.append(error)
    return out


def _seconds(work: Callable[[], object]) -> float:
    """Wall time of one call."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--region", action="append", choices=REGIONS)
    parser.add_argument("--reference-sample", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for region in args.region or ["US"]:
        run(args.count, region, args.reference_sample, args.repeat)


if __name__ == "__main__":
    main()
