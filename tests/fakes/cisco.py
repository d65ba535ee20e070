"""Fake Cisco UCCE (Unified Config) and UCCX (Admin API) servers speaking XML.

The rules below are Cisco's, written here from Cisco's documents and NOT imported
from the adapters, so a test fails when an adapter sends what Cisco documents as
invalid. Sources (cited again beside each constant):

- [PCCE-IMPORT] Cisco Packaged CCE Developer Reference, Release 15.0(1), chapter
  "Outbound API", section "Import API" (cisco.com ... pcce_m_outbound-api_1501).
- [PCCE-CAMPAIGN] same chapter, section "Outbound Campaign API".
- [OO-DD] Outbound Option Guide for UCCE, Release 12.6(2), chapter "Dialer Detail
  Table" (CallResult Codes and Values, CallStatusZone Values, CallResults Table).
- [UCCX-CC] UCCX Developer Guide, "Data Structure for Campaign Contacts", "Add
  Contacts to Campaign", "Get Campaign Contacts Import Status".
- [UCCX-DB] Cisco Unified CCX Database Schema Guide, Release 12.5(1), chapter
  "Database Schema", table "DialingList" (db_cra), and "Database Table Details".
"""

from __future__ import annotations

import base64
import csv
import io
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
# [PCCE-IMPORT] "Only administrators can use the Import API. For this reason,
# Import API user roles are authorized with the Active Directory": the login is an
# Active Directory user principal name, user@domain.
UCCE_LOGIN = re.compile(r"[^@\s]+@[^@\s]+")
# [PCCE-IMPORT] "header fields: The following header fields are allowed".
UCCE_IMPORT_FIELDS = frozenset(
    {"AccountNumber", "FirstName", "LastName", "TimeZoneBias", "DstObserved"}
    | {f"Phone{n:02d}" for n in range(1, 11)}
)
# [PCCE-IMPORT] "delimiter: Comma (,) or pipe (|). Default is comma (,)."
UCCE_DELIMITERS = frozenset({",", "|"})
# [PCCE-IMPORT] AccountNumber "Maximum length of 30 bytes"; FirstName, LastName
# "Maximum length of 50 characters".
UCCE_FIELD_LENGTHS = {"AccountNumber": 30, "FirstName": 50, "LastName": 50}
# [PCCE-IMPORT] Phone01-Phone10: "Can contain digits 0-9, pound sign (#), and
# asterisk (*). Maximum length of 20 bytes. At least one Phone field is required."
UCCE_PHONE_LENGTH = 20
UCCE_PHONE = re.compile(r"[0-9#*]*")
# [PCCE-IMPORT] TimeZoneBias: "Integer. Range is from -780 to 720"; DstObserved
# "True or false"; "If the DstObserved parameter is provided but not TimeZoneBias,
# a validation error is returned."
UCCE_BIAS_RANGE = range(-780, 721)
UCCE_DST_OBSERVED = frozenset({"", "true", "false"})
# [PCCE-IMPORT] "If you specify the ID for a campaign created using the Outbound
# Option Campaign tool, the request returns CceDBDataNotFoundException";
# [PCCE-CAMPAIGN] list: such campaigns "do not appear in the list".
UCCE_NOT_FOUND = "CceDBDataNotFoundException"
# [PCCE-CAMPAIGN] "Example Get Response", word for word but for one slip mended
# (Cisco prints <ipAMDEnabled>...</ipAmdEnabled>, which no XML parser accepts);
# {id}, {name}, {max_attempts}, {no_answer}, {busy}, {mode}, {purpose} are ours.
UCCE_CAMPAIGN_GET_RESPONSE = """<campaign> <department>
          <refURL>/unifiedconfig/config/department/5001</refURL>
          <name>Sales</name>
         </department> <changeStamp>48</changeStamp>
    <refURL>/unifiedconfig/config/campaign/{id}</refURL>
    <import>
        <refURL>/unifiedconfig/config/import/5000</refURL>
    </import>
    <abandonEnabled>true</abandonEnabled>
    <abandonPercent>3.0</abandonPercent>
    <amdTreatmentMode>abandonCall</amdTreatmentMode>
    <campaignPrefix>978</campaignPrefix>
    <campaignPurposeType>{purpose}</campaignPurposeType>
    <dialingMode>{mode}</dialingMode>
    <enabled>true</enabled>
    <endDate>2016-01-15</endDate>
    <endTime>17:00</endTime>
    <ipAmdEnabled>true</ipAmdEnabled>
    <ipTerminatingBeepDetect>false</ipTerminatingBeepDetect>
    <linesPerAgent>1.5</linesPerAgent>
    <maxAttempts>{max_attempts}</maxAttempts>
    <maximumLinesPerAgent>100.0</maximumLinesPerAgent>
    <minimumCallDuration>1</minimumCallDuration>
    <name>{name}</name>
    <noAnswerRingLimit>4</noAnswerRingLimit>
    <personalizedCallbackEnabled>false</personalizedCallbackEnabled>
    <predictiveCorrectionPace>70</predictiveCorrectionPace>
    <predictiveGain>1.0</predictiveGain>
    <rescheduleCallbackMode>useCampaignDN</rescheduleCallbackMode>
    <reservationPercentage>100</reservationPercentage>
    <retries>
        <answeringMachineDelay>60</answeringMachineDelay>
        <busySignalDelay>{busy}</busySignalDelay>
        <customerAbandonedDelay>30</customerAbandonedDelay>
        <customerNotHomeDelay></customerNotHomeDelay>
        <dialerAbandonedDelay>60</dialerAbandonedDelay>
        <noAnswerDelay>{no_answer}</noAnswerDelay>
    </retries>
    <startDate>2016-01-14</startDate>
    <startTime>09:00</startTime>
    <timeZone>
        <displayName>(UTC-05:00) Eastern Time (US &amp; Canada)</displayName>
        <refURL>/unifiedconfig/config/timezone/Eastern%20Standard%20Time</refURL>
    </timeZone>
</campaign>"""
# [PCCE-IMPORT] "Example Get Response" of one imported contact (the list operation
# returns these records), word for word for phone01; {fields} are ours.
UCCE_IMPORT_CONTACT = """<importContact>
    <refURL>/unifiedconfig/config/campaign/{campaign}/import/{id}</refURL>
    <accountNumber>{account}</accountNumber>
    <callsMade>{calls}</callsMade>
    <callStatus>{status}</callStatus>
    <callResultOverall>{result}</callResultOverall>
    <firstName></firstName>
    <lastName></lastName>
    <importDate>2016-03-28T01:09:40</importDate>
    <phone01>
        <callResult>{result}</callResult>
        <dstObserved>true</dstObserved>
        <gmtOffset>720</gmtOffset>
        <number>{phone}</number>
    </phone01>
</importContact>"""

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
# [UCCX-DB] DialingList.callstatus: "1 = Pending. The record is ready to be
# dialed."; the final ones: "3 = Closed. The record is closed.", "4 = Callback.
# The record is marked for a callback.", "5 = Max Calls. Maximum attempts have
# been reached for this record (considered closed)."
UCCX_PENDING = 1
UCCX_FINAL_STATUSES = frozenset({3, 4, 5})
# [UCCX-DB] DialingList.callresult values 1-18 ("1 = Voice" ... "18 = Customer
# abandoned"); "13 = Callback Failed - this value is not written to the database".
UCCX_CALL_RESULTS = frozenset(range(1, 19)) - {13}
# [UCCX-DB] DialingList: accountnumber nvarchar(25,0), firstname and lastname
# nvarchar(50,0), phone01-03 varchar(28,0). What the Admin API answers to a
# longer value is not documented, so the fake notes it (``problems``) instead of
# inventing an answer.
UCCX_COLUMN_LENGTHS = {
    "account number": 25,
    "first name": 50,
    "last name": 50,
    "phone1": 28,
    "phone2": 28,
    "phone3": 28,
}
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
        self.records: list[dict] = []  # one per imported contact, for the list
        self.dialed = 0  # records already dialed
        self.double_imports: list[str] = []  # accounts imported while still waiting
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
            body = UCCE_CAMPAIGN_GET_RESPONSE.format(
                id=campaign.id,
                name=escape(campaign.name),
                max_attempts=campaign.max_attempts,
                no_answer=campaign.no_answer_delay,
                busy=campaign.busy_signal_delay,
                mode=campaign.dialing_mode,
                purpose="ivrCampaign" if campaign.ivr else "agentCampaign",
            )
            return Response(body, content_type=XML)
        if request.method == "GET":
            return self._import_list(campaign.id, request)
        if request.method != "POST":
            return Response(status=405)
        return self._import(campaign.id, request)

    def _import_list(self, campaign_id: str, request: Request) -> Response:
        """The Import API's list: every imported record of the campaign, paged."""
        try:
            start = max(0, int(request.args.get("startIndex", 0)))
            per_page = int(request.args.get("resultsPerPage", 25))
        except ValueError:
            return _api_error(400, "invalidInput", "bad paging parameters")
        per_page = max(1, min(per_page, self.page_cap))
        with self._lock:
            mine = [r for r in self.records if r["campaign"] == campaign_id]
        page = mine[start : start + per_page]
        items = "".join(UCCE_IMPORT_CONTACT.format(**record) for record in page)
        body = (
            "<results><pageInfo>"
            f"<startIndex>{start}</startIndex><resultsPerPage>{per_page}"
            f"</resultsPerPage><totalResults>{len(mine)}</totalResults>"
            f"</pageInfo><importContacts>{items}</importContacts></results>"
        )
        return Response(body, content_type=XML)

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
            waiting = {
                r["account"]
                for r in self.records[self.dialed :]
                if r["campaign"] == campaign_id
            }
            self.double_imports.extend(
                row["AccountNumber"] for row in rows if row["AccountNumber"] in waiting
            )
            for row in rows:
                self.records.append(
                    {
                        "id": len(self.records) + 1,
                        "campaign": campaign_id,
                        "account": escape(row["AccountNumber"]),
                        "phone": row.get("Phone01", ""),
                        "status": "pending",
                        "result": 0,
                        "calls": 0,
                    }
                )
        return Response(status=200)

    def dial(self, result_for, when, engine=None) -> int:  # noqa: ANN001
        """Dial every imported record not dialed yet, once: close it with
        ``result_for(account, phone)`` and, given an engine, write its
        Dialer_Detail row ([OO-DD]: CallResult, CallStatusZone1 C = closed)."""
        from portal.services.dialers.dialer_detail import DIALER_DETAIL

        with self._dial_lock:
            with self._lock:
                fresh = self.records[self.dialed :]
                self.dialed = len(self.records)
            rows = []
            for record in fresh:
                self._recovery_key += 1
                code = result_for(record["account"], record["phone"])
                record.update(status="closed", result=code, calls=1)
                rows.append(
                    {
                        "RecoveryKey": self._recovery_key,
                        "DateTime": when,
                        "DBDateTime": when,
                        "DialerID": 5000,
                        "CampaignID": int(record["campaign"]),
                        "AccountNumber": record["account"],
                        "Phone": record["phone"],
                        "PhoneIndex": 0,
                        "CallResult": code,
                        "CallResultDetail": 0,
                        "CallStatusZone1": "C",
                        "DialingMode": 1,
                    }
                )
            if rows and engine is not None:
                with engine.begin() as conn:
                    conn.execute(DIALER_DETAIL.insert(), rows)
            return len(rows)


def _campaign_xml(c: FakeCampaign) -> str:
    """One campaign of the list: the list's own shape is not in the stored pages,
    so it carries only the fields the get example shows and the adapter reads."""
    return (
        "<campaign>"
        f"<refURL>/unifiedconfig/config/campaign/{c.id}</refURL>"
        f"<changeStamp>1</changeStamp><name>{escape(c.name)}</name>"
        f"<campaignPurposeType>{'ivrCampaign' if c.ivr else 'agentCampaign'}"
        f"</campaignPurposeType><dialingMode>{c.dialing_mode}</dialingMode>"
        "<enabled>true</enabled></campaign>"
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
            elif name == "DstObserved" and value and not row.get("TimeZoneBias"):
                return f"line {n}: DstObserved given without TimeZoneBias"
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
        dialing_list=None,  # noqa: ANN001
    ) -> None:
        """``dialing_list``: an engine holding db_cra's DialingList ([UCCX-DB],
        ``dialers.uccx_results.DIALING_LIST``); each import then writes a row per
        contact and ``dial`` closes it."""
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
        # imported, not dialed yet (see dial): account -> its DialingList row
        self.waiting: dict[str, dict] = {}
        self.double_imports: list[str] = []
        self.dialing_list = dialing_list
        # UCCX imports in the background ([UCCX-CC]: "Add Contacts to Campaign"
        # answers 202, "Get Campaign Contacts Import Status" reports the import's
        # startTime and numContactsImported): with import_lag (seconds) the rows
        # of an accepted import reach DialingList that long after the POST has
        # been answered, at the first dial() after it; only then are they dialed
        self.import_lag = 0.0
        self.problems: list[str] = []  # values too long for their DialingList column
        self._unwritten: list[tuple[float, dict]] = []  # (accepted at, row)
        self._row_key = 0
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
                self._accept(campaign, root, header, rows)
        body = UCCX_ADD_CONTACTS_RESPONSE.format(
            name=escape(campaign.name), base=self.url, id=campaign.id
        )
        headers = {}
        if self.location:
            headers["Location"] = (
                f"{self.url}/adminapi/campaign/{campaign.id}/contacts/status"
            )
        return Response(body, status=202, content_type=XML, headers=headers)

    def _accept(self, campaign: FakeCampaign, root, header, rows) -> None:  # noqa: ANN001
        """Keep an accepted import; with db_cra, write its DialingList rows."""
        self.bodies.append(root)
        self.imports.append(ImportedBatch(campaign.id, header, rows))
        created = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        new = []
        self.problems.extend(_uccx_too_long(rows))
        for row in rows:
            account = _uccx_field(row, "account number")
            if account in self.waiting:
                self.double_imports.append(account)
            self._row_key += 1
            self.waiting[account] = _dialing_list_row(
                self._row_key, campaign.id, created, row
            )
            new.append(self.waiting[account])
        if self.import_lag:
            self._unwritten.extend((time.monotonic(), row) for row in new)
        else:
            self._write_rows(new)

    def _imported_rows(self) -> list[dict]:
        """The rows of imports accepted at least import_lag seconds ago, not
        written yet (taken off the list)."""
        now = time.monotonic()
        due = [row for at, row in self._unwritten if now - at >= self.import_lag]
        self._unwritten = [
            (at, row) for at, row in self._unwritten if now - at < self.import_lag
        ]
        created = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        for row in due:  # the record is created when the import writes it
            row["createdatetime"] = created
        return due

    def _write_rows(self, rows: list[dict]) -> None:
        if self.dialing_list is not None and rows:
            from portal.services.dialers.uccx_results import DIALING_LIST

            with self.dialing_list.begin() as conn:
                conn.execute(DIALING_LIST.insert(), rows)

    def dial(self, outcome_for=None) -> list[str]:  # noqa: ANN001
        """Dial every contact imported (its row written) and not dialed yet, once;
        return their accounts. With db_cra, close each one's DialingList row with
        ``outcome_for(account, phone)`` = (final callstatus, callresult)."""
        with self._lock:
            self._write_rows(self._imported_rows())
            unwritten = {row["dialinglistid"] for _, row in self._unwritten}
            waiting = {
                account: row
                for account, row in self.waiting.items()
                if row["dialinglistid"] not in unwritten
            }
            for account in waiting:
                del self.waiting[account]
        if waiting and outcome_for is not None and self.dialing_list is not None:
            self._close_rows(waiting, outcome_for)
        return sorted(waiting)

    def _close_rows(self, waiting: dict[str, dict], outcome_for) -> None:  # noqa: ANN001
        from sqlalchemy import bindparam

        from portal.services.dialers.uccx_results import DIALING_LIST

        closes = []
        for account, row in sorted(waiting.items()):
            status, result = outcome_for(account, row["phone01"])
            if status not in UCCX_FINAL_STATUSES or result not in UCCX_CALL_RESULTS:
                raise ValueError(f"not a final DialingList outcome: {status}, {result}")
            closes.append(
                {"key": row["dialinglistid"], "status": status, "result": result}
            )
        t = DIALING_LIST.c
        close = (
            DIALING_LIST.update()
            .where(t.dialinglistid == bindparam("key"))
            .values(
                callstatus=bindparam("status"),
                callresult=bindparam("result"),
                lastnumberdialed=1,
                callsmadetophone01=1,
            )
        )
        with self.dialing_list.begin() as conn:
            conn.execute(close, closes)

    def _status(self, campaign: FakeCampaign) -> Response:
        result = self._last_result.get(campaign.id, "SUCCESS")
        body = UCCX_IMPORT_STATUS_RESPONSE.format(
            base=self.url,
            id=campaign.id,
            result=result,
            key="success" if result == "SUCCESS" else "failure",
        )
        return Response(body, content_type=XML)


def _uccx_field(row: dict[str, str], name: str) -> str:
    """A csvdata value by its case-insensitive header ([UCCX-CC])."""
    return next((v for k, v in row.items() if k.lower() == name), "")


def _uccx_too_long(rows: list[dict[str, str]]) -> list[str]:
    """The values longer than their DialingList column ([UCCX-DB])."""
    return [
        f"{name} {_uccx_field(row, name)!r} longer than {limit}"
        for row in rows
        for name, limit in UCCX_COLUMN_LENGTHS.items()
        if len(_uccx_field(row, name)) > limit
    ]


def _dialing_list_row(
    key: int, campaign_id: str, created: datetime, row: dict[str, str]
) -> dict:
    """A freshly imported contact as db_cra's DialingList holds it ([UCCX-DB]):
    pending, no call made, no result yet (callresult 0, as the column is NOT
    NULL and Cisco lists no value for "none"); createdatetime in UTC ("Database
    Table Details") and, as "datetime year to second", whole seconds.
    dialinglistid counts on from 20779, the CTI Protocol Developer Guide's
    outbound example ("BADialedListID: 20779")."""
    return {
        "recordid": key,
        "dialinglistid": 20779 + key,
        "profileid": 1,
        "campaignid": int(campaign_id),
        "createdatetime": created,
        "accountnumber": _uccx_field(row, "account number"),
        "firstname": _uccx_field(row, "first name") or None,
        "lastname": _uccx_field(row, "last name") or None,
        "phone01": _uccx_field(row, "phone1"),
        "phone02": _uccx_field(row, "phone2") or None,
        "phone03": _uccx_field(row, "phone3") or None,
        "gmtzonephone01": 0,
        "dstphone01": 0,
        "callstatus": UCCX_PENDING,
        "callresult": 0,
        "callsmadetophone01": 0,
        "active": True,
    }
