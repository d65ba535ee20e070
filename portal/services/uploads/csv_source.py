"""Reading a stored upload: tolerant decoding, sniffed delimiter, header detection.

`CsvSource.records()` yields every non-blank record with its line number and, for a
record that cannot be a row at all (unreadable CSV, an absurdly long line, NUL
characters), the problem the importer reports for it. Nothing here raises on bad
bytes: a file of any encoding reads to the end.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO

from portal.models import PHONES
from portal.services.uploads import storage

CONTACT_FIELDS = (
    *PHONES,
    *(f"businessParam{i}" for i in range(1, 13)),
    "dialTime",
    "priority",
    "timeZone",
    "region",
)
MAX_LINE_BYTES = 1 << 20
COUNT_BLOCK = 4 << 20
HEADER_FIRST_CELL = re.compile(
    r"^(phone|phonenumber|number|numbers|contactnumber|primarynumber|tel|telephone|"
    r"mobile|mobilenumber|msisdn|cell|numbertocall)\d?$"
)
HEADER_CELLS = frozenset(
    [f.lower() for f in CONTACT_FIELDS] + ["name", "businessparam", "dialtime"]
)
_HEADER_NOISE = str.maketrans("", "", " _-.\t\"'")


class CsvSource:
    """The records of a stored upload, read as a stream with their line numbers."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.position = 0
        self.delimiter = ","
        self._overlong = False
        self._nul = False

    def _lines(self, handle: BinaryIO) -> Iterator[str]:
        """Decoded physical lines: UTF-8 (BOM dropped), else cp1252; never raises."""
        readline = handle.readline
        limit = MAX_LINE_BYTES
        first = True
        while True:
            raw = readline(limit)
            if not raw:
                return
            self.position += len(raw)
            if len(raw) == limit and raw[-1:] != b"\n":
                while True:  # skip the rest of an absurdly long line
                    more = readline(limit)
                    self.position += len(more)
                    if not more or more[-1:] == b"\n":
                        break
                self._overlong = True
                yield "\n"
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("cp1252", "replace")
            if "\x00" in line:
                self._nul = True
                line = line.replace("\x00", "")
            if first:
                first = False
                if line[:1] == "\ufeff":
                    line = line[1:]
            yield line

    @staticmethod
    def sniff(line: str) -> str:
        """`;` or tab when the first line has more of them than commas."""
        counts = {d: line.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=lambda d: (counts[d], d == ","))
        return best if counts[best] else ","

    def records(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """(line number, cells, problem) for every non-blank record, in file order."""
        with storage.open_file(self.ref) as handle:
            lines = self._lines(handle)
            first = next(lines, None)
            if first is None:
                return
            self.delimiter = self.sniff(first)
            reader = csv.reader(
                itertools.chain([first], lines), delimiter=self.delimiter
            )
            consumed = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = consumed + 1
                    consumed = reader.line_num
                    yield line, None, f"unreadable CSV ({exc})"
                    continue
                line = consumed + 1
                consumed = reader.line_num
                if self._overlong:
                    self._overlong = self._nul = False
                    yield line, None, f"line is longer than {MAX_LINE_BYTES} bytes"
                    continue
                if self._nul:
                    self._nul = False
                    yield line, cells, "row: must not contain NUL characters"
                    continue
                if not cells or (
                    not cells[0].strip() and not any(c.strip() for c in cells)
                ):
                    continue
                yield line, cells, None


def is_header(kind: str, cells: list[str]) -> bool:
    """A first row naming columns (phone1, number, businessParam1, ...) is a header.

    A row whose first cell holds digits is data even if a later cell reads like a
    column name: the seed's own example row is `0300948984,,,,,businessParam1`.
    """
    names = [c.translate(_HEADER_NOISE).lower() for c in cells]
    if HEADER_FIRST_CELL.match(names[0]):
        return True
    if any(ch.isdigit() for ch in names[0]):
        return False
    return kind == "contacts" and any(n in HEADER_CELLS and n != "name" for n in names)


def count_lines(ref: str) -> int:
    """Physical lines in the file: the row count to expect, before reading it."""
    total = 0
    last = b"\n"
    with storage.open_file(ref) as handle:
        while block := handle.read(COUNT_BLOCK):
            total += block.count(b"\n")
            last = block[-1:]
    return total + (0 if last == b"\n" else 1)
