"""Fake Cisco UCCE (Unified Config) and UCCX (Admin API) servers speaking XML.

The rules below are Cisco's, written here from Cisco's documents and NOT imported
from the adapters, so a test fails when an adapter sends what Cisco documents as
invalid. Sources (cited again beside each constant):

- [PCCE-IMPORT] Cisco Packaged CCE Developer Reference, "Import API"
  (developer.cisco.com/docs/packaged-contact-center/import-api).
- [PCCE-CAMPAIGN] same reference, "Outbound Campaign API".
- [OO-DD] Outbound Option Guide for UCCE 12.6(2), appendix "Dialer Detail Table".
- [OO-PCB] Outbound Option Guide for UCCE 12.6(1), "Personal_Callback_List Table".
- [UCCX-CC] UCCX Developer Guide, "Data Structure for Campaign Contacts", "Add
  Contacts to Campaign", "Get Campaign Contacts Import Status".
"""

from __future__ import annotations

import base64
import csv
import io
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from tests.fakes import FakeServer

XML = "application/xml"

# [PCCE-IMPORT] "You can import up to 10,000 records in one create request."
UCCE_MAX_IMPORT_RECORDS = 10_000
# [PCCE-IMPORT] "You can queue up to 30 requests. If the queue has 30 requests and
# you submit another request, the response is HTTP 503 Service Unavailable with the
# boundary error condition "Request processing queue is at capacity.""
UCCE_IMPORT_QUEUE_CAPACITY = 30
UCCE_QUEUE_FULL_MESSAGE = "Request processing queue is at capacity."
# [PCCE-IMPORT] "Only administrators can use the Import API ... authorized with the
# Active Directory": logins are Active Directory user principal names, user@domain.
UCCE_LOGIN = re.compile(r"[^@\s]+@[^@\s]+")
# [PCCE-IMPORT] fileContent: the header row names the columns, from these fields.
UCCE_IMPORT_FIELDS = frozenset(
    {"AccountNumber", "FirstName", "LastName", "TimeZoneBias", "DstObserved"}
    | {f"Phone{n:02d}" for n in range(1, 11)}
)
# [PCCE-IMPORT] delimiter (comma by default); which other characters UCCE takes is
# not in the stored copy of the page, so the fake takes only the default and "|".
UCCE_DELIMITERS = frozenset({",", "|"})
# [OO-PCB] "Phone | VARCHAR | Phone number ... Length is 20"; [OO-DD] Phone
# VARCHAR(20), AccountNumber VARCHAR(30), FirstName / LastName VARCHAR(50).
UCCE_FIELD_LENGTHS = {"AccountNumber": 30, "FirstName": 50, "LastName": 50}
UCCE_PHONE_LENGTH = 20
UCCE_PHONE = re.compile(r"[0-9]*")  # [PCCE-IMPORT] phone fields: digits only
UCCE_DST_OBSERVED = frozenset({"", "true", "false"})
# TimeZoneBias: minutes from UTC, UTC-12:00 to UTC+14:00.
UCCE_BIAS_RANGE = range(-720, 841)
# [PCCE-IMPORT] note: an id of a campaign made with the Outbound Option Campaign
# tool "returns CceDBDataNotFoundException"; [PCCE-CAMPAIGN] "list": such campaigns
# "do not appear in the list".
UCCE_NOT_FOUND = "CceDBDataNotFoundException"

# [UCCX-CC] csvdata: "The following case-insensitive headers are supported";
# "Phone1 is mandatory and must be specified."
UCCX_HEADERS = frozenset(
    {
        "account number",
        "first name",
        "last name",
        "phone1",
        "phone2",
        "phone3",
        "dial time",
    }
)
# [UCCX-CC] "Tomcat has a 3 MB size restriction".
UCCX_MAX_BODY_BYTES = 3 * 1024 * 1024
# [UCCX-CC] "Add Contacts to Campaign": HTTPS Success Code 200, 202; the success
# response, word for word (host made ours).
UCCX_ADD_CONTACTS_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<campaignContacts>\n"
    '    <campaign name="{name}">\n'
    "        <refURL>{base}/adminapi/campaign/{id}</refURL>\n"
    "    </campaign>\n"
    "    <csvdata/>\n"
    "</campaignContacts>"
)
# [UCCX-CC] "Get Campaign Contacts Import Status" success response. Cisco's printed
# example is not well-formed XML (an unclosed <Arg>, a stray </result>); this is
# the same document with those two slips mended.
UCCX_IMPORT_STATUS_RESPONSE = (
    "<statusDetails>\n"
    "    <self>{base}/adminapi/campaign/{id}</self>\n"
    "<campaignId>{id}</campaignId>\n"
    "    <importStatus>\n"
    '        <status importType="AUTO">\n'
    "            <result>SUCCESS</result>\n"
    "            <startTime>1536871071356</startTime>\n"
    "                <numContactsImported>1</numContactsImported>\n"
    "            <i18n>\n"
    "                <Key>obss.schedule.import.success</Key>\n"
    "                    <Args>\n"
    "                        <Arg/>\n"
    "                    </Args>\n"
    "                </i18n>\n"
    "        </status>\n"
    '        <status importType="MANUAL">\n'
    "            <result>{result}</result>\n"
    "                <i18n>\n"
    "                    <Key>obss.schedule.import.{key}</Key>\n"
    "                    <Args>\n"
    "                        <Arg/>\n"
    "                    </Args>\n"
    "                </i18n>\n"
    "        </status>\n"
    "    </importStatus>\n"
    "</statusDetails>"
)


@dataclass
class FakeCampaign:
    """One campaign the fake dialer knows."""

    id: str
    name: str
    ivr: bool = False
    dialing_mode: str = "PREDICTIVEONLY"
    made_with_api: bool = True  # False: made in the Outbound Option Campaign tool
    max_attempts: int = 1
    no_answer_delay: int = 60
    busy_signal_delay: int = 60


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
    """Fake UCCE: campaign list with paging, campaign details and the Import API.

    ``dial`` plays the dialer: every imported record not dialed yet gets one
    Dialer_Detail row ([OO-DD] columns) in the given database.
    """

    def __init__(
        self,
        username: str = "administrator@example.com",
        password: str = "C1sco12345",
        campaigns: list[FakeCampaign] | None = None,
        page_cap: int = 100,
    ) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.page_cap = page_cap
        self.overload_body = UCCE_QUEUE_FULL_MESSAGE
        self.campaigns = campaigns or [
            FakeCampaign("5001", "Collections_Predictive"),
            FakeCampaign(
                "5002", "Renewals_Progressive", dialing_mode="PROGRESSIVEONLY"
            ),
            FakeCampaign("5003", "Reminder_IVR", ivr=True),
        ]
        self.imports: list[ImportedBatch] = []
        self.dialed = 0  # records of self.imports already dialed
        self._recovery_key = 1_000_000.0
        self._dial_lock = threading.Lock()

    def authorized(self, request: Request) -> bool:
        """Require basic auth with the administrator's user@domain login."""
        return UCCE_LOGIN.fullmatch(self.username) is not None and _check_basic(
            request, self.username, self.password
        )

    def imported_account_numbers(self, campaign_id: str | None = None) -> list[str]:
        """Every AccountNumber imported so far, in order."""
        return [
            row.get("AccountNumber", "")
            for batch in self.imports
            if campaign_id is None or batch.campaign_id == campaign_id
            for row in batch.rows
        ]

    def route(self, request: Request) -> Response:
        """Serve the campaign list, one campaign, and the Import API."""
        path = request.path.rstrip("/")
        if path == "/unifiedconfig/config/campaign":
            if request.method != "GET":
                return Response(status=405)
            return self._list(request)
        match = re.fullmatch(r"/unifiedconfig/config/campaign/(\d+)(/import)?", path)
        if not match:
            return _api_error(404, "notFound", f"no resource at {path}")
        campaign = self._api_campaign(match.group(1))
        if campaign is None:
            return _api_error(
                404, UCCE_NOT_FOUND, f"campaign {match.group(1)} not found"
            )
        if match.group(2) is None:
            if request.method != "GET":
                return Response(status=405)
            return Response(_campaign_xml(campaign), content_type=XML)
        if request.method != "POST":
            return Response(status=405)
        return self._import(campaign.id, request)

    def _api_campaign(self, campaign_id: str) -> FakeCampaign | None:
        return next(
            (c for c in self.campaigns if c.id == campaign_id and c.made_with_api),
            None,
        )

    def _list(self, request: Request) -> Response:
        try:
            start = max(0, int(request.args.get("startIndex", 0)))
            per_page = int(request.args.get("resultsPerPage", 25))
        except ValueError:
            return _api_error(400, "invalidInput", "bad paging parameters")
        per_page = max(1, min(per_page, self.page_cap))
        visible = [c for c in self.campaigns if c.made_with_api]
        page = visible[start : start + per_page]
        items = "".join(_campaign_xml(c) for c in page)
        body = (
            "<results><pageInfo>"
            f"<startIndex>{start}</startIndex><resultsPerPage>{per_page}"
            f"</resultsPerPage><totalResults>{len(visible)}</totalResults>"
            f"</pageInfo><campaigns>{items}</campaigns></results>"
        )
        return Response(body, content_type=XML)

    def _import(self, campaign_id: str, request: Request) -> Response:
        try:
            root = ET.fromstring(request.get_data())
        except ET.ParseError as error:
            return _api_error(400, "invalidInput.xml", str(error))
        if root.tag != "import" or root.find("fileContent") is None:
            return _api_error(400, "invalidInput", "expected <import><fileContent>")
        delimiter = (root.findtext("delimiter") or ",").strip() or ","
        if delimiter not in UCCE_DELIMITERS:
            return _api_error(400, "invalidInput.delimiter", "unsupported delimiter")
        header, rows = _read_csv(root.findtext("fileContent") or "", delimiter)
        problem = _ucce_header_problem(header) or _ucce_rows_problem(rows)
        if problem:
            return _api_error(400, "invalidInput.fileContent", problem)
        if len(rows) > UCCE_MAX_IMPORT_RECORDS:
            return _api_error(
                400,
                "invalidInput.importLimitExceeded",
                f"{len(rows)} records; at most {UCCE_MAX_IMPORT_RECORDS} per request",
            )
        overwrite = (root.findtext("overwriteData") or "false").strip() == "true"
        with self._lock:
            self.imports.append(ImportedBatch(campaign_id, header, rows, overwrite))
        return Response(status=200)

    def dial(self, engine, result_for, when) -> int:  # noqa: ANN001
        """Write one Dialer_Detail row per imported record not dialed yet."""
        from portal.services.dialers.dialer_detail import DIALER_DETAIL

        with self._dial_lock:
            with self._lock:
                records = [
                    (batch.campaign_id, row)
                    for batch in self.imports
                    for row in batch.rows
                ]
            fresh = records[self.dialed :]
            rows = []
            for campaign_id, record in fresh:
                self._recovery_key += 1
                code = result_for(record)
                rows.append(
                    {
                        "RecoveryKey": self._recovery_key,
                        "DateTime": when,
                        "DBDateTime": when,
                        "DialerID": 5000,
                        "CampaignID": int(campaign_id),
                        "AccountNumber": record["AccountNumber"],
                        "Phone": record.get("Phone01"),
                        "PhoneIndex": 0,
                        "CallResult": code,
                        "CallResultDetail": 0,
                        "CallStatusZone1": "C",
                        "CallStatusZone2": "C",
                        "DialingMode": 1,
                    }
                )
            if rows:
                with engine.begin() as conn:
                    conn.execute(DIALER_DETAIL.insert(), rows)
            self.dialed += len(fresh)
            return len(rows)


def _campaign_xml(c: FakeCampaign) -> str:
    return (
        "<campaign>"
        f"<refURL>/unifiedconfig/config/campaign/{c.id}</refURL>"
        f"<changeStamp>1</changeStamp><name>{escape(c.name)}</name>"
        f"<campaignPurposeType>{'ivrCampaign' if c.ivr else 'agentCampaign'}"
        f"</campaignPurposeType><dialingMode>{c.dialing_mode}</dialingMode>"
        f"<enabled>true</enabled><maxAttempts>{c.max_attempts}</maxAttempts>"
        f"<retries><noAnswerDelay>{c.no_answer_delay}</noAnswerDelay>"
        f"<busySignalDelay>{c.busy_signal_delay}</busySignalDelay></retries>"
        "</campaign>"
    )


def _ucce_header_problem(header: list[str]) -> str | None:
    unknown = [name for name in header if name not in UCCE_IMPORT_FIELDS]
    if unknown:
        return f"unknown column(s) {unknown}"
    if "AccountNumber" not in header or not any(
        name.startswith("Phone") for name in header
    ):
        return "need AccountNumber and a Phone field"
    return None


def _ucce_rows_problem(rows: list[dict[str, str]]) -> str | None:
    for n, row in enumerate(rows, start=2):
        for name, value in row.items():
            value = value or ""
            if name.startswith("Phone"):
                if len(value) > UCCE_PHONE_LENGTH or not UCCE_PHONE.fullmatch(value):
                    return f"line {n}: {name} {value!r} is not 0-20 digits"
            elif len(value) > UCCE_FIELD_LENGTHS.get(name, 10**6):
                return f"line {n}: {name} is longer than {UCCE_FIELD_LENGTHS[name]}"
            elif name == "DstObserved" and value.lower() not in UCCE_DST_OBSERVED:
                return f"line {n}: DstObserved {value!r} is not true or false"
            elif name == "TimeZoneBias" and value:
                try:
                    bias_ok = int(value) in UCCE_BIAS_RANGE
                except ValueError:
                    bias_ok = False
                if not bias_ok:
                    return f"line {n}: TimeZoneBias {value!r} is not minutes"
    return None


class FakeUccx(FakeServer):
    """Fake UCCX Admin API: campaign list, contacts import and its import status."""

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
        self.fail_imports = 0  # the next N imports end with result FAILURE
        self.location = False  # name the status in a Location header
        self._last_result: dict[str, str] = {}

    def authorized(self, request: Request) -> bool:
        """Require HTTP basic auth with the configured application user."""
        return _check_basic(request, self.username, self.password)

    def route(self, request: Request) -> Response:
        """Serve /adminapi/campaign, .../{id}/contacts and .../contacts/status."""
        path = request.path.rstrip("/")
        if path == "/adminapi/campaign":
            if request.method != "GET":
                return Response(status=405)
            return self._list()
        match = re.fullmatch(r"/adminapi/campaign/(\d+)/contacts(/status)?", path)
        if not match:
            return _api_error(404, "notFound", f"no resource at {path}")
        campaign = next((c for c in self.campaigns if c.id == match.group(1)), None)
        if campaign is None:
            return _api_error(404, "notFound", f"campaign {match.group(1)} not found")
        if match.group(2):
            if request.method != "GET":
                return Response(status=405)
            return self._status(campaign)
        if request.method != "POST":
            return Response(status=405)
        return self._contacts(campaign, request)

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
            f"<maxDialAttempts>{c.max_attempts}</maxDialAttempts>"
            f"<retryNoAnswerDelay>{c.no_answer_delay}</retryNoAnswerDelay>"
            "<pendingContacts>0</pendingContacts>"
            "</campaign>"
            for c in self.campaigns
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?><campaigns>{items}</campaigns>'
        return Response(body, content_type=XML)

    def _contacts(self, campaign: FakeCampaign, request: Request) -> Response:
        data = request.get_data()
        if len(data) > UCCX_MAX_BODY_BYTES:
            return Response("Request Entity Too Large", status=413)
        try:
            root = ET.fromstring(data)
        except ET.ParseError as error:
            return _api_error(400, "invalidInput.xml", str(error))
        element = root.find("campaign")
        ref = root.findtext("campaign/refURL") or ""
        if root.tag != "campaignContacts" or not ref.endswith(f"/{campaign.id}"):
            return _api_error(400, "invalidInput", "campaign reference mismatch")
        if element is None or element.get("name") != campaign.name:
            return _api_error(400, "invalidInput", "campaign name missing or wrong")
        header, rows = _read_csv(root.findtext("csvdata") or "", ",")
        names = {name.lower() for name in header}
        if names - UCCX_HEADERS:
            return _api_error(400, "invalidInput.header", f"{names - UCCX_HEADERS}")
        if "phone1" not in names:
            return _api_error(400, "invalidInput.header", "Phone1 is mandatory")
        with self._lock:
            failed = self.fail_imports > 0
            self.fail_imports -= 1 if failed else 0
            self._last_result[campaign.id] = "FAILURE" if failed else "SUCCESS"
            if not failed:
                self.bodies.append(root)
                self.imports.append(ImportedBatch(campaign.id, header, rows))
        body = UCCX_ADD_CONTACTS_RESPONSE.format(
            name=escape(campaign.name), base=self.url, id=campaign.id
        )
        headers = {}
        if self.location:
            headers["Location"] = (
                f"{self.url}/adminapi/campaign/{campaign.id}/contacts/status"
            )
        return Response(body, status=202, content_type=XML, headers=headers)

    def _status(self, campaign: FakeCampaign) -> Response:
        result = self._last_result.get(campaign.id, "SUCCESS")
        body = UCCX_IMPORT_STATUS_RESPONSE.format(
            base=self.url,
            id=campaign.id,
            result=result,
            key="success" if result == "SUCCESS" else "failure",
        )
        return Response(body, content_type=XML)
