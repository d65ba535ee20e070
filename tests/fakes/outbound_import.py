"""Cisco's Outbound Option import reading the file dialer's contact files."""

from __future__ import annotations

import csv


class FakeOutboundImport:
    """Cisco's Outbound Option import reading the file dialer's contact files.

    [OO-IMPORT] Outbound Option Guide for UCCE 15.0(1), "Configuration of Campaigns
    and Imports", "Create Contact Import File": "an account number, first name,
    last name, and phone number for each entry on a new line", "Comma Delimited,
    Pipe Delimited, or Fixed Format" (example "6782,Henry,Martin,2225554444": no
    header); "the import file is renamed or deleted so that it is not reimported".
    A file is taken when complete (not a hidden temporary name); rows over 1,024
    characters are refused (issue #11's rule, not in the stored guide); each
    record is dialed once by ``dial``.
    """

    COLUMNS = 4  # [OO-IMPORT] AccountNumber, FirstName, LastName, Phone
    DELIMITERS = (",", "|")  # [OO-IMPORT]
    MAX_ROW = 1024

    def __init__(self, folder, delimiter: str = ",") -> None:  # noqa: ANN001
        if delimiter not in self.DELIMITERS:
            raise ValueError("comma or pipe delimited")
        self.folder = folder
        self.delimiter = delimiter
        self.pending: list[dict[str, str]] = []
        self.records: list[dict[str, str]] = []
        self.problems: list[str] = []
        self.double_imports: list[str] = []
        self._recovery_key = 5_000_000.0

    def take_files(self) -> int:
        taken = 0
        for path in sorted(self.folder.glob("*.csv")):
            if path.name.startswith("."):
                continue
            raw = path.read_bytes().decode("utf-8")
            path.unlink()
            taken += 1
            for line in raw.split("\r\n"):
                if not line:
                    continue
                if len(line) > self.MAX_ROW:
                    self.problems.append(f"{path.name}: row over {self.MAX_ROW}")
                cells = next(csv.reader([line], delimiter=self.delimiter))
                if len(cells) != self.COLUMNS or not cells[0].isdigit():
                    self.problems.append(f"{path.name}: not a contact row {line!r}")
                    continue
                if any(p["account"] == cells[0] for p in self.pending):
                    self.double_imports.append(cells[0])
                if not cells[3].isdigit() or len(cells[3]) > 20:
                    self.problems.append(f"{path.name}: phone {cells[3]!r}")
                record = {"account": cells[0], "phone": cells[3]}
                self.pending.append(record)
                self.records.append(record)
        return taken

    def dial(self, result_for, when, engine) -> int:  # noqa: ANN001
        from portal.services.dialers.dialer_detail import DIALER_DETAIL

        fresh, self.pending = self.pending, []
        rows = []
        for record in fresh:
            self._recovery_key += 1
            rows.append(
                {
                    "RecoveryKey": self._recovery_key,
                    "DateTime": when,
                    "DBDateTime": when,
                    "DialerID": 5000,
                    "CampaignID": 5001,
                    "AccountNumber": record["account"],
                    "Phone": record["phone"],
                    "CallResult": result_for(record["account"], record["phone"]),
                    "CallStatusZone1": "C",
                    "DialingMode": 1,
                }
            )
        if rows:
            with engine.begin() as conn:
                conn.execute(DIALER_DETAIL.insert(), rows)
        return len(rows)
