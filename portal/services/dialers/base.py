"""What every dialer adapter takes and gives, so the feed loop need not know which."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Cisco Packaged CCE Developer Reference 15.0(1), "Outbound API" > "Import API": "You
# can import up to 10,000 records in one create request." (UCCE; see uccx.py.)
MAX_ROWS_PER_REQUEST = 10_000

# Same page, "header fields: The following header fields are allowed": AccountNumber
# (max 30 bytes), FirstName, LastName (50), Phone01-Phone10 ("digits 0-9, pound sign
# (#), and asterisk (*). Maximum length of 20 bytes"), TimeZoneBias, DstObserved.
CISCO_IMPORT_HEADER = (
    "AccountNumber",
    "FirstName",
    "LastName",
    "Phone01",
    "TimeZoneBias",
    "DstObserved",
)
# Same page: Phone fields "Maximum length of 20 bytes", AccountNumber 30 bytes.
CISCO_PHONE_MAX = 20
CISCO_ACCOUNT_MAX = 30
# Developer Reference 15.0(1), "Import API": TimeZoneBias "Range is from -780 to 720".
TIME_ZONE_BIAS_MIN = -780
TIME_ZONE_BIAS_MAX = 720

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
    time_zone: str | None = None  # IANA zone of the number dialed, when known


@dataclass(frozen=True)
class DialResult:
    """Carry one call or SMS outcome back to the feed loop as a Cisco result code."""

    contact_id: int
    call_result: int
    raw: str | None
    number: str | None = None
    # results 14/15: the requested time as the dialer's table holds it, in
    # callback_zone when the dialer documents one, else in the campaign's zone
    callback_local: datetime | None = None
    callback_zone: str | None = None


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


class NumberTooLong(DialerRejected):
    """A number Cisco cannot hold: refused, never cut (cut, it rings a stranger)."""


def cisco_phone(number: str, plus_prefix: str = "") -> str:
    """The dial string Cisco gets: the '+' replaced by ``plus_prefix``, digits, # and *.

    Cisco's Phone fields take digits only (Import API) and at most 20 characters;
    the '+' of an E.164 number is replaced by the configured international prefix
    (ECM_CISCO_PLUS_PREFIX, empty by default: the dialer's own "Long Distance Digit
    Prefix Logic", Outbound Option Guide appendix of that name, adds what it needs).
    """
    text = number.strip()
    if text.startswith("+"):
        text = _NOT_DIALABLE.sub("", plus_prefix) + text[1:]
    dialed = _NOT_DIALABLE.sub("", text)
    if len(dialed) > CISCO_PHONE_MAX:
        raise NumberTooLong(
            f"{number!r} is {len(dialed)} characters as Cisco dials it; "
            f"Cisco Phone fields hold at most {CISCO_PHONE_MAX}"
        )
    return dialed


def cisco_length_problem(number: str, plus_prefix: str | None) -> str | None:
    """Why intake must refuse a number Cisco could not hold, or None (cheap)."""
    if not plus_prefix or number[:1] != "+":
        return None
    length = len(number) - 1 + len(plus_prefix)
    if length <= CISCO_PHONE_MAX:
        return None
    return (
        f"is {length} characters as Cisco dials it ('+' becomes '{plus_prefix}'); "
        f"Cisco Outbound Option phone fields hold at most {CISCO_PHONE_MAX}"
    )


def time_zone_fields(zone: str | None, now: datetime | None = None) -> tuple[str, str]:
    """TimeZoneBias and DstObserved for a contact's zone ('' when unknown).

    Cisco Packaged CCE Developer Reference 15.0(1), "Import API", header fields:
    "TimeZoneBias: Specifies the offset of the customer's time zone from UTC in
    minutes. Integer. Range is from -780 to 720"; it "represents the way
    information about time zones is stored in the Windows registry" (Windows'
    Bias = UTC - local, so New York's standard time is 300, Auckland's -720).
    "DstObserved: ... True or false." Left empty, "time zone and Daylight Saving
    Time information is assigned by matching phone numbers to region prefix
    strings" - what we want when the number's zone is not known to us.
    """
    if not zone:
        return "", ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "", ""
    year = (now or datetime.now(UTC)).year
    offsets = {datetime(year, month, 15, 12, tzinfo=tz).utcoffset() for month in (1, 7)}
    standard = min(offsets)  # DST moves clocks forward: standard is the smaller
    bias = -int(standard.total_seconds() // 60)
    if not TIME_ZONE_BIAS_MIN <= bias <= TIME_ZONE_BIAS_MAX:
        return "", ""  # e.g. Kiribati's UTC+14: let Cisco's region prefixes decide
    return str(bias), "true" if len(offsets) > 1 else "false"


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
    header: Sequence[str] | None = CISCO_IMPORT_HEADER,
    delimiter: str = ",",
    lineterminator: str = "\r\n",
    plus_prefix: str = "",
    time_zones: bool = True,
) -> str:
    """Render requests as a Cisco import CSV (with a header row unless ``None``).

    AccountNumber carries the ECM contact id so a result maps back to its contact;
    Phone01 is the one number ECM chose for this attempt (the strategy, not the
    dialer, decides which phone is dialed). Names are not known to ECM: left empty.
    With ``time_zones`` the rows carry TimeZoneBias and DstObserved of the number.
    Raises NumberTooLong (nothing rendered) for a number Cisco cannot hold.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    if header is not None:
        writer.writerow(header)
    for request in requests:
        phone = cisco_phone(request.number, plus_prefix)
        row = [str(request.contact_id), "", "", phone]
        if time_zones:
            row.extend(time_zone_fields(request.time_zone))
        writer.writerow(row)
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
