"""A dialer that exchanges files with Cisco Outbound Option through a shared folder."""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from portal.services.dialers.base import (
    DialerUnavailable,
    DialRequest,
    DialResult,
    cisco_import_csv,
)

log = logging.getLogger(__name__)

RESULT_SUFFIX = ".result.csv"
CAMPAIGNS_FILE = "campaigns.json"
_CAMPAIGN_KEYS = (
    "ciscoCampaignId",
    "ciscoCampaignName",
    "ciscoTableName",
    "ciscoFileName",
    "ciscoFilePath",
    "campaignType",
)
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


class FileDialer:
    """Write each batch as a Cisco import CSV and read results back from result files.

    Batch files: ``ecm_<campaign>_<UTC yyyymmddThhmmssffffffZ>_<n>.csv`` in
    ``file_path``, one per ECM campaign in a dispatch (``<campaign>`` is the ECM
    campaign id), with the header ``AccountNumber,FirstName,LastName,Phone01``:
    AccountNumber is the ECM contact id, Phone01 the number chosen for this attempt.
    Each file is written to a hidden ``.tmp`` name and renamed into place, so an
    import rule watching ``*.csv`` never reads half a file.

    Result files (our convention, not Cisco's): any ``*.result.csv`` in
    ``file_path``, UTF-8 (a BOM is fine), ``,`` or ``;``, with a header row
    ``AccountNumber,CallResult,RawCode`` (case-insensitive; an optional ``Number``
    column names the number dialed). AccountNumber is the ECM contact id,
    CallResult a Cisco Outbound Option result code (10 connected, 8 no answer...),
    RawCode free text kept with the attempt. Rows that are not two integers are
    skipped and logged; the file itself is kept in the archive.

    A result file is first claimed by an atomic rename inside ``file_path`` (so two
    workers never both read it), then parsed, then moved to ``archive_path``.
    """

    name = "file"

    def __init__(
        self,
        file_path: str | os.PathLike[str],
        archive_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.file_path = Path(file_path)
        self.archive_path = (
            Path(archive_path) if archive_path else self.file_path / "archive"
        )
        self.clock = clock

    def list_campaigns(self) -> list[dict[str, str]]:
        """Read campaigns.json from the drop folder when the operator provides one."""
        path = self.file_path / CAMPAIGNS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable %s: %s", path, error)
            return []
        if not isinstance(data, list):
            log.warning("ignoring %s: expected a JSON array", path)
            return []
        campaigns: list[dict[str, str]] = []
        for item in data:
            if not isinstance(item, dict) or item.get("ciscoCampaignId") in (None, ""):
                continue
            campaigns.append(
                {
                    key: str(item[key])
                    for key in _CAMPAIGN_KEYS
                    if item.get(key) is not None
                }
            )
        return campaigns

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Write one import file per campaign; DialerUnavailable if the share fails."""
        if not requests:
            return
        by_campaign: dict[int, list[DialRequest]] = {}
        for request in requests:
            by_campaign.setdefault(request.campaign_id, []).append(request)
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%S%fZ")
        written: list[int] = []
        for campaign_id, batch in by_campaign.items():
            content = cisco_import_csv(batch)
            try:
                self._write_atomically(f"ecm_{_safe(campaign_id)}_{stamp}", content)
            except OSError as error:
                raise DialerUnavailable(
                    f"cannot write the dialer file in {self.file_path}: {error}",
                    accepted=written,
                ) from error
            written.extend(request.contact_id for request in batch)

    def collect_results(self) -> list[DialResult]:
        """Read and archive every result file present now; return their results."""
        try:
            candidates = sorted(
                path
                for path in self.file_path.glob("*" + RESULT_SUFFIX)
                if path.is_file() and not path.name.startswith(".")
            )
        except OSError as error:
            raise DialerUnavailable(f"cannot list {self.file_path}: {error}") from error
        results: list[DialResult] = []
        for path in candidates:
            claimed = path.with_name(f".{path.name}.{uuid.uuid4().hex}.claimed")
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue  # another worker claimed it first
            except OSError as error:
                log.warning("cannot claim %s: %s", path, error)
                continue
            try:
                results.extend(_parse_results(claimed.read_bytes(), path.name))
            except OSError as error:
                log.warning("cannot read %s: %s", claimed, error)
            self._archive(claimed, path.name)
        return results

    def _write_atomically(self, stem: str, content: str) -> Path:
        self.file_path.mkdir(parents=True, exist_ok=True)
        tmp = self.file_path / f".{stem}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            for n in itertools.count(1):
                target = self.file_path / f"{stem}_{n}.csv"
                try:
                    os.link(tmp, target)  # fails if the name exists: no overwrite
                except FileExistsError:
                    continue
                except OSError:
                    if target.exists():
                        continue
                    os.replace(tmp, target)  # share without hard links
                    return target
                return target
        finally:
            tmp.unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def _archive(self, claimed: Path, original_name: str) -> None:
        try:
            self.archive_path.mkdir(parents=True, exist_ok=True)
            target = self.archive_path / original_name
            if target.exists():
                stamp = datetime.fromtimestamp(self.clock(), UTC).strftime(
                    "%Y%m%dT%H%M%S%fZ"
                )
                target = self.archive_path / f"{original_name}.{stamp}"
            shutil.move(str(claimed), str(target))
        except OSError as error:
            log.warning("cannot archive %s: %s", claimed, error)


def _safe(value: object) -> str:
    return _SAFE.sub("-", str(value)) or "campaign"


def _parse_results(raw: bytes, source: str) -> list[DialResult]:
    text = raw.decode("utf-8-sig", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return []
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    account = columns.get("accountnumber")
    result = columns.get("callresult")
    raw_code = columns.get("rawcode")
    number = columns.get("number")
    if account is None or result is None:
        log.warning("%s has no AccountNumber/CallResult header; skipped", source)
        return []
    results: list[DialResult] = []
    for line_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            contact_id = int(row[account].strip())
            call_result = int(row[result].strip())
        except (IndexError, ValueError):
            log.warning("%s line %d: not a result row: %r", source, line_number, row)
            continue
        results.append(
            DialResult(
                contact_id=contact_id,
                call_result=call_result,
                raw=_cell(row, raw_code),
                number=_cell(row, number),
            )
        )
    return results


def _cell(row: list[str], index: int | None) -> str | None:
    if index is None or index >= len(row):
        return None
    value = row[index].strip()
    return value or None
