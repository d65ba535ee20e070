"""Builders for bulk-upload tests and the upload benchmark: real CSV files on disk."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from portal.services import campaigns, strategies

CONTACT_HEADER = (
    ["phone1", "phone2", "phone3", "phone4", "phone5"]
    + [f"businessParam{i}" for i in range(1, 13)]
    + ["dialTime"]
)

# (kind, cells) of rows every validation rule must reject, with the reason's start.
BAD_KINDS = (
    "missing phone1",
    "letters",
    "too short",
    "too long",
    "bad dialTime",
    "too many columns",
    "overlong param",
)
BAD_REASONS = {
    "missing phone1": "phone1: is required",
    "letters": "phone1: has letters",
    "too short": "phone1: too short",
    "too long": "phone1: too long",
    "bad dialTime": "dialTime: must be",
    "too many columns": "has 22 columns",
    "overlong param": "businessParam2: is longer than 255",
}


def us_digits(i: int) -> tuple[str, str, str]:
    """A distinct US number for every i below 6.3 billion: area, exchange, line."""
    area = 201 + i % 798
    exchange = 200 + (i // 798) % 800
    line = (i // (798 * 800)) % 10_000
    return str(area), str(exchange), f"{line:04d}"


def us_key(i: int) -> str:
    return "+1" + "".join(us_digits(i))


def us_number(i: int, style: int) -> str:
    """The same number written the ways callers write it."""
    a, e, n = us_digits(i)
    return (
        f"{a}{e}{n}",
        f"({a}) {e}-{n}",
        f"+1 {a}-{e}-{n}",
        f"{a}.{e}.{n}",
        f"1-{a}-{e}-{n}",
        f"+1{a}{e}{n}",
    )[style % 6]


def bad_cells(kind: str, i: int) -> list[str]:
    good = us_number(i, i)
    params = ["Acct", f"ref-{i}"]
    if kind == "missing phone1":
        return ["", good] + ["", "", ""] + params
    if kind == "letters":
        return ["555-CALL-NOW", good] + ["", "", ""] + params
    if kind == "too short":
        return ["12"] + ["", "", "", ""] + params
    if kind == "too long":
        return ["123456789012345678901"] + ["", "", "", ""] + params
    if kind == "bad dialTime":
        return [good] + [""] * 4 + params + [""] * 10 + ["next tuesday"]
    if kind == "too many columns":
        # phone1 .. dialTime, priority, timeZone, region, extra
        return [good] + [""] * 20 + ["extra"]
    if kind == "overlong param":
        return [good] + [""] * 4 + ["Acct", "x" * 256]
    raise ValueError(kind)


@dataclass
class ContactsFile:
    """A generated contacts CSV and what its import must report."""

    path: Path
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    dnc_flagged: int = 0
    bad_lines: dict[int, str] = field(default_factory=dict)  # line -> kind
    dnc_keys: list[str] = field(default_factory=list)
    first_line: int = 1


def write_contacts_csv(
    path: Path,
    rows: int,
    *,
    bad_every: int = 20,
    dnc_every: int = 50,
    header: bool = False,
    delimiter: str = ",",
    seed: int = 7,
    start: int = 0,
    encoding: str = "utf-8",
    bom: bool = False,
) -> ContactsFile:
    """Contacts with two numbers each, mixed formats; 1/bad_every bad, 1/dnc_every DNC.

    DNC rows use numbers from `dnc_keys` (load them onto the DNC list first). Bad rows
    cycle through every kind of BAD_KINDS.
    """
    rng = random.Random(seed)
    info = ContactsFile(path=path, rows=rows)
    line = 1
    bad_seq = 0
    with open(path, "w", encoding=encoding, newline="") as out:
        if bom:
            out.write("\ufeff")
        if header:
            out.write(delimiter.join(CONTACT_HEADER) + "\r\n")
            line += 1
        info.first_line = line
        for r in range(rows):
            i = start + r
            if bad_every and r % bad_every == bad_every - 1:
                kind = BAD_KINDS[bad_seq % len(BAD_KINDS)]
                bad_seq += 1
                cells = bad_cells(kind, i)
                info.bad_lines[line] = kind
                info.rejected += 1
            else:
                phone1 = us_number(i, rng.randrange(6))
                if dnc_every and r % dnc_every == dnc_every - 2:
                    info.dnc_keys.append(us_key(i))
                    info.dnc_flagged += 1
                phone2 = us_number(i + 10_000_000, rng.randrange(6))
                cells = [phone1, phone2, "", "", "", f"Name {i}", f"ref-{i}"]
                if r % 7 == 0:
                    cells += [""] * 10 + ["2030-01-02 09:30:00"]
                info.accepted += 1
            out.write(delimiter.join(cells) + "\n")
            line += 1
    return info


def write_dnc_csv(
    path: Path, keys: list[str], *, extra: int = 0, start: int = 50_000_000
) -> int:
    """The E.164 keys (written nationally) and `extra` fresh numbers; the row count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        for n, key in enumerate(keys):
            digits = key[2:]
            out.write(f"({digits[:3]}) {digits[3:6]}-{digits[6:]},Listed {n}\n")
            count += 1
        for i in range(start, start + extra):
            out.write(f"{us_number(i, i)},\n")
            count += 1
    return count


def make_campaign(admin, name: str = "Uploads", time_zone: str = "UTC", **fields):
    """A campaign with a one-attempt strategy, as a manager would set it up."""
    strategy = strategies.create_strategy(
        admin, {"name": f"{name} strategy", "maxAttempts": 3}
    )
    strategies.create_attempt(
        admin,
        {
            "csId": strategy.id,
            "name": "First",
            "phone": "1",
            "channel": 0,
            "retryMap": [],
        },
    )
    data = {"name": name, "strategyId": strategy.id, "timeZone": time_zone}
    data.update(fields)
    return campaigns.create_campaign(admin, data)


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.05):
    """Poll predicate until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
