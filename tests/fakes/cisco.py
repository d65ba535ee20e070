"""Fake Cisco UCCE (Unified Config) and UCCX (Admin API) servers speaking XML.

Modelled on Cisco's published examples: the Outbound Campaign API list
(``<results><pageInfo>…<campaigns><campaign><refURL>…``), the Import API
(``<import><fileContent><![CDATA[csv]]></fileContent><delimiter>…``, at most
10,000 records a request, 503 when its queue is full) and the UCCX
``/adminapi/campaign`` list and ``/adminapi/campaign/{id}/contacts`` import.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from tests.fakes import FakeServer

MAX_IMPORT_ROWS = 10_000
XML = "application/xml"


@dataclass
class FakeCampaign:
    """One campaign the fake dialer knows."""

    id: str
    name: str
    ivr: bool = False
    dialing_mode: str = "PREDICTIVEONLY"


@dataclass
class ImportedBatch:
    """One accepted import request: the campaign, its CSV header and rows."""

    campaign_id: str
    header: list[str]
    rows: list[dict[str, str]] = field(repr=False)
    overwrite: bool = False


def _check_basic(request: Request, username: str, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:]).decode("utf-8")
    except ValueError:
        return False
    return decoded == f"{username}:{password}"


def _api_error(status: int, error_type: str, message: str) -> Response:
    body = (
        "<apiErrors><apiError>"
        f"<errorType>{escape(error_type)}</errorType>"
        f"<errorMessage>{escape(message)}</errorMessage>"
        "</apiError></apiErrors>"
    )
    return Response(body, status=status, content_type=XML)


def _read_csv(text: str, delimiter: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return [], []
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    rows = [dict(zip(header, (c.strip() for c in row), strict=False)) for row in reader]
    return header, rows


class FakeUcce(FakeServer):
    """Fake UCCE: campaign list with paging and the 10,000-row Import API."""

    def __init__(
        self,
        username: str = "administrator",
        password: str = "C1sco12345",
        campaigns: list[FakeCampaign] | None = None,
        page_cap: int = 100,
    ) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.page_cap = page_cap
        self.overload_body = "Request processing queue is at capacity."
        self.campaigns = campaigns or [
            FakeCampaign("5001", "Collections_Predictive"),
            FakeCampaign(
                "5002", "Renewals_Progressive", dialing_mode="PROGRESSIVEONLY"
            ),
            FakeCampaign("5003", "Reminder_IVR", ivr=True),
        ]
        self.imports: list[ImportedBatch] = []

    def authorized(self, request: Request) -> bool:
        """Require HTTP basic auth with the configured administrator."""
        return _check_basic(request, self.username, self.password)

    def imported_account_numbers(self, campaign_id: str | None = None) -> list[str]:
        """Every AccountNumber imported so far, in order."""
        return [
            row.get("AccountNumber", "")
            for batch in self.imports
            if campaign_id is None or batch.campaign_id == campaign_id
            for row in batch.rows
        ]

    def route(self, request: Request) -> Response:
        """Serve the campaign list and the Import API."""
        path = request.path.rstrip("/")
        if path == "/unifiedconfig/config/campaign":
            if request.method != "GET":
                return Response(status=405)
            return self._list(request)
        match = re.fullmatch(r"/unifiedconfig/config/campaign/(\d+)/import", path)
        if match:
            if request.method != "POST":
                return Response(status=405)
            return self._import(match.group(1), request)
        return _api_error(404, "notFound", f"no resource at {path}")

    def _list(self, request: Request) -> Response:
        try:
            start = max(0, int(request.args.get("startIndex", 0)))
            per_page = int(request.args.get("resultsPerPage", 25))
        except ValueError:
            return _api_error(400, "invalidInput", "bad paging parameters")
        per_page = max(1, min(per_page, self.page_cap))
        page = self.campaigns[start : start + per_page]
        items = "".join(
            "<campaign>"
            f"<refURL>/unifiedconfig/config/campaign/{c.id}</refURL>"
            f"<changeStamp>1</changeStamp><name>{escape(c.name)}</name>"
            f"<campaignPurposeType>{'ivrCampaign' if c.ivr else 'agentCampaign'}"
            f"</campaignPurposeType><dialingMode>{c.dialing_mode}</dialingMode>"
            "<enabled>true</enabled>"
            "</campaign>"
            for c in page
        )
        body = (
            "<results><pageInfo>"
            f"<startIndex>{start}</startIndex><resultsPerPage>{per_page}"
            f"</resultsPerPage><totalResults>{len(self.campaigns)}</totalResults>"
            f"</pageInfo><campaigns>{items}</campaigns></results>"
        )
        return Response(body, content_type=XML)

    def _import(self, campaign_id: str, request: Request) -> Response:
        if not any(c.id == campaign_id for c in self.campaigns):
            return _api_error(
                404, "CceDBDataNotFoundException", f"campaign {campaign_id} not found"
            )
        try:
            root = ET.fromstring(request.get_data())
        except ET.ParseError as error:
            return _api_error(400, "invalidInput.xml", str(error))
        if root.tag != "import" or root.find("fileContent") is None:
            return _api_error(400, "invalidInput", "expected <import><fileContent>")
        delimiter = (root.findtext("delimiter") or ",").strip() or ","
        if delimiter not in (",", "|"):
            return _api_error(400, "invalidInput.delimiter", "comma or pipe only")
        header, rows = _read_csv(root.findtext("fileContent") or "", delimiter)
        if "AccountNumber" not in header or not any(
            re.fullmatch(r"Phone(0[1-9]|10)", name) for name in header
        ):
            return _api_error(400, "invalidInput.header", "need a Phone field")
        if len(rows) > MAX_IMPORT_ROWS:
            return _api_error(
                400,
                "invalidInput.importLimitExceeded",
                f"{len(rows)} records; at most {MAX_IMPORT_ROWS} per request",
            )
        overwrite = (root.findtext("overwriteData") or "false").strip() == "true"
        with self._lock:
            self.imports.append(ImportedBatch(campaign_id, header, rows, overwrite))
        return Response(status=200)


class FakeUccx(FakeServer):
    """Fake UCCX Admin API: campaign list and campaign contacts import."""

    def __init__(
        self,
        username: str = "uccxadmin",
        password: str = "secret",
        campaigns: list[FakeCampaign] | None = None,
    ) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.campaigns = campaigns or [
            FakeCampaign("200", "OBPreview", dialing_mode="DIRECT_PREVIEW"),
            FakeCampaign("201", "IVRProgressive", ivr=True, dialing_mode="PROGRESSIVE"),
            FakeCampaign("202", "IVRPredictive", ivr=True, dialing_mode="PREDICTIVE"),
        ]
        self.imports: list[ImportedBatch] = []
        self.bodies: list[ET.Element] = []

    def authorized(self, request: Request) -> bool:
        """Require HTTP basic auth with the configured application user."""
        return _check_basic(request, self.username, self.password)

    def route(self, request: Request) -> Response:
        """Serve /adminapi/campaign and /adminapi/campaign/{id}/contacts."""
        path = request.path.rstrip("/")
        if path == "/adminapi/campaign":
            if request.method != "GET":
                return Response(status=405)
            return self._list()
        match = re.fullmatch(r"/adminapi/campaign/(\d+)/contacts", path)
        if match:
            if request.method != "POST":
                return Response(status=405)
            return self._contacts(match.group(1), request)
        return _api_error(404, "notFound", f"no resource at {path}")

    def _list(self) -> Response:
        items = "".join(
            "<campaign>"
            f"<self>{self.url}/adminapi/campaign/{c.id}</self>"
            f"<campaignId>{c.id}</campaignId>"
            f"<campaignName>{escape(c.name)}</campaignName>"
            "<enabled>true</enabled><startTime>08:00</startTime>"
            "<endTime>21:00</endTime><timeZone>India Standard Time</timeZone>"
            f"<campaignType>{'IVR' if c.ivr else 'AGENT'}</campaignType>"
            f"<dialerType>{c.dialing_mode}</dialerType>"
            "<pendingContacts>0</pendingContacts>"
            "</campaign>"
            for c in self.campaigns
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?><campaigns>{items}</campaigns>'
        return Response(body, content_type=XML)

    def _contacts(self, campaign_id: str, request: Request) -> Response:
        campaign = next((c for c in self.campaigns if c.id == campaign_id), None)
        if campaign is None:
            return _api_error(404, "notFound", f"campaign {campaign_id} not found")
        try:
            root = ET.fromstring(request.get_data())
        except ET.ParseError as error:
            return _api_error(400, "invalidInput.xml", str(error))
        ref = root.findtext("campaign/refURL") or ""
        if root.tag != "campaignContacts" or not ref.endswith(f"/{campaign_id}"):
            return _api_error(400, "invalidInput", "campaign reference mismatch")
        header, rows = _read_csv(root.findtext("csvdata") or "", ",")
        if "phone1" not in {name.lower() for name in header}:
            return _api_error(400, "invalidInput.header", "Phone1 is mandatory")
        if len(rows) > MAX_IMPORT_ROWS:
            return _api_error(400, "invalidInput.limit", "too many contacts")
        with self._lock:
            self.bodies.append(root)
            self.imports.append(ImportedBatch(campaign_id, header, rows))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><campaignContacts>'
            f'<campaign name="{escape(campaign.name)}">'
            f"<refURL>{self.url}/adminapi/campaign/{campaign_id}</refURL>"
            "</campaign><csvdata/></campaignContacts>"
        )
        return Response(body, status=202, content_type=XML)
