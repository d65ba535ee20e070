"""CSV exports that spreadsheets open safely (formula injection neutralised)."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; numbers stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_START):
        # a phone number like +441234 is data, not a formula; keep it readable
        if text[0] in "+-" and text[1:].replace(" ", "").isdigit():
            return text
        return "'" + text
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Stream a CSV (header first) one line at a time, every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
