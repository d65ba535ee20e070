"""What every dialer adapter takes and gives, so the feed loop need not know which."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# The Import API (UCCE) and Add Contacts API (UCCX) take at most 10,000 rows a request.
MAX_ROWS_PER_REQUEST = 10_000

# Cisco import header fields documented for the Outbound Option Import API.
CISCO_IMPORT_HEADER = ("AccountNumber", "FirstName", "LastName", "Phone01")

_NOT_DIALABLE = re.compile(r"[^0-9#*]")


@dataclass(frozen=True)
class DialRequest:
    """Hand one due contact to a dialer with everything it needs to place the call."""

    contact_id: int
    campaign_id: int
    cisco_campaign_id: str | None
    number: str
    channel: int  # a Channel: 0 voice, 1 SMS
    attempt_number: int
    business_params: dict[str, str] = field(default_factory=dict, hash=False)
    phone_fields: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class DialResult:
    """Carry one call or SMS outcome back to the feed loop as a Cisco result code."""

    contact_id: int
    call_result: int
    raw: str | None
    number: str | None = None


class DialerUnavailable(Exception):
    """Tell the feed loop the batch did not reach the dialer, so it can retry later.

    ``accepted`` lists the contact ids the dialer took before the failure (an earlier
    chunk of the same dispatch); the caller should keep those dispatched and return
    only the others to pending.
    """

    def __init__(
        self,
        message: str,
        *,
        accepted: Sequence[int] = (),
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.accepted: list[int] = list(accepted)
        self.status = status
        self.body = body


class DialerAuthError(DialerUnavailable):
    """Say plainly that the dialer refused our credentials, not that it is down."""


class DialerRejected(DialerUnavailable):
    """Say that the dialer answered but refused the request (a 4xx other than auth)."""


@runtime_checkable
class DialerAdapter(Protocol):
    """The three things the feed loop and fetchCiscoCampaigns need from any dialer."""

    name: str

    def list_campaigns(self) -> list[dict[str, str]]:
        """List dialer campaigns shaped like the ECM fetchCiscoCampaigns response."""
        ...

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Hand a batch of due contacts to the dialer, or raise DialerUnavailable."""
        ...

    def collect_results(self) -> list[DialResult]:
        """Return the results the dialer produced since the last call (maybe none)."""
        ...


def cisco_phone(number: str) -> str:
    """Keep only what Cisco accepts in a Phone field: digits, # and *, at most 20."""
    return _NOT_DIALABLE.sub("", number)[:20]


def group_by_cisco_campaign(
    requests: Iterable[DialRequest],
) -> dict[str, list[DialRequest]]:
    """Group a batch per Cisco campaign, keeping order: imports are per campaign.

    Raises DialerRejected (nothing sent) when a request has no Cisco campaign id.
    """
    groups: dict[str, list[DialRequest]] = {}
    missing: list[int] = []
    for request in requests:
        key = (request.cisco_campaign_id or "").strip()
        if not key:
            missing.append(request.contact_id)
            continue
        groups.setdefault(key, []).append(request)
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        raise DialerRejected(
            f"{len(missing)} contact(s) have no ciscoCampaignId (e.g. {shown}); "
            "link the ECM campaign to a Cisco campaign first"
        )
    return groups


def chunked(
    items: Sequence[DialRequest], size: int = MAX_ROWS_PER_REQUEST
) -> Iterator[Sequence[DialRequest]]:
    """Split a batch into the dialer's per-request row limit."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cisco_import_csv(
    requests: Iterable[DialRequest],
    *,
    header: Sequence[str] = CISCO_IMPORT_HEADER,
    delimiter: str = ",",
    lineterminator: str = "\r\n",
) -> str:
    """Render requests as a Cisco Outbound Option import CSV with a header row.

    AccountNumber carries the ECM contact id so a result maps back to its contact;
    Phone01 is the one number ECM chose for this attempt (the strategy, not the
    dialer, decides which phone is dialed). Names are not known to ECM: left empty.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerow(header)
    for request in requests:
        writer.writerow([str(request.contact_id), "", "", cisco_phone(request.number)])
    return out.getvalue()


def cdata(text: str) -> str:
    """Wrap text in a CDATA section that survives a literal ``]]>`` in the text."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def parse_dialer_xml(text: str, what: str) -> ET.Element:
    """Parse a dialer's XML answer, refusing DTDs so entity bombs cannot hurt us."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise DialerRejected(f"refusing {what} XML with a DTD")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise DialerRejected(f"unreadable {what} XML: {error}") from None
    for element in root.iter():  # read <ns:campaign> like <campaign>
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root
