"""A dialer adapter for Cisco UCCE/PCCE Outbound Option via the Unified Config API."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Mapping

from portal.services.dialers._http import (
    CISCO_RETRY_STATUSES,
    RetryingHttpClient,
    basic_auth,
)
from portal.services.dialers.base import (
    MAX_ROWS_PER_REQUEST,
    DialerRejected,
    DialerUnavailable,
    DialRequest,
    DialResult,
    cdata,
    chunked,
    cisco_import_csv,
    group_by_cisco_campaign,
    parse_dialer_xml,
)
from portal.services.dialers.dialer_detail import DialerDetailReader

log = logging.getLogger(__name__)

CAMPAIGN_PATH = "/unifiedconfig/config/campaign"
PAGE_SIZE = 100
_MAX_PAGES = 1000


class UcceDialer:
    """Push contacts into UCCE campaigns with the Outbound API's Import API.

    Documented by Cisco (Packaged CCE Developer Reference, Outbound API):
    ``GET /unifiedconfig/config/campaign`` lists campaigns created with the
    Outbound Campaign API (XML ``<results><pageInfo>…<campaigns><campaign>`` with
    ``refURL``, ``name``, ``campaignPurposeType``); ``POST
    /unifiedconfig/config/campaign/<id>/import`` takes ``<import><fileContent>``
    (CSV in CDATA, header ``AccountNumber,FirstName,LastName,Phone01…``)
    ``<delimiter>`` and ``<overwriteData>``, at most 10,000 records a request, and
    answers 503 "Request processing queue is at capacity" when 30 are queued.
    Campaigns made with the Outbound Option Campaign tool are not visible here
    (Outbound Campaign API, "list": "Campaigns created using the Outbound Option
    Campaign tool do not appear in the list"; Import API: such an id "returns
    CceDBDataNotFoundException"): dispatch says so instead of a bare 404.

    Results: UCCE writes each attempt to the Dialer_Detail table of the HDS/AW
    database; ``result_source`` reads it (ECM_UCCE_RESULTS_URL) and the feed keeps
    the mark. Without that URL results arrive on ``POST /umm/ecm/callback/result``.
    """

    name = "ucce"

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        timeout: float = 10,
        max_retries: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        *,
        max_backoff: float = 60.0,
        rows_per_request: int = MAX_ROWS_PER_REQUEST,
        verify_tls: bool | str = True,
        plus_prefix: str = "",
        result_source: DialerDetailReader | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("the UCCE dialer needs a base URL (ECM_UCCE_URL)")
        self.rows_per_request = min(rows_per_request, MAX_ROWS_PER_REQUEST)
        self.plus_prefix = plus_prefix
        self.result_source = result_source
        self.http = RetryingHttpClient(
            base_url,
            auth_header=basic_auth(username, password),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            sleep=sleep,
            retry_statuses=CISCO_RETRY_STATUSES,
            verify_tls=verify_tls,
            label="UCCE",
        )

    def list_campaigns(self) -> list[dict[str, str]]:
        """List API-made UCCE campaigns, all pages, shaped for fetchCiscoCampaigns."""
        campaigns: list[dict[str, str]] = []
        seen: set[str] = set()
        start = 0
        for _ in range(_MAX_PAGES):
            response = self.http.request(
                "GET",
                CAMPAIGN_PATH,
                query={"startIndex": start, "resultsPerPage": PAGE_SIZE},
            )
            root = parse_dialer_xml(response.text(), "UCCE campaign list")
            nodes = root.findall("./campaigns/campaign") or root.findall("./campaign")
            page = [_campaign_row(node) for node in nodes]
            fresh = [r for r in page if r and r["ciscoCampaignId"] not in seen]
            seen.update(row["ciscoCampaignId"] for row in fresh)
            campaigns.extend(fresh)
            total = _int(root.findtext("pageInfo/totalResults"))
            start += len(page)
            if not fresh or total is None or start >= total:
                break  # done, or a server that ignores startIndex
        for row in campaigns:  # the list may leave the retry settings out
            if "maxAttempts" not in row:
                attempts = self.retry_settings(row["ciscoCampaignId"])["maxAttempts"]
                if attempts is not None:
                    row["maxAttempts"] = str(attempts)
        return campaigns

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Import the batch per Cisco campaign in chunks of at most 10,000 rows."""
        accepted: list[int] = []
        for campaign_id, group in group_by_cisco_campaign(requests).items():
            path = f"{CAMPAIGN_PATH}/{campaign_id}/import"
            for chunk in chunked(group, self.rows_per_request):
                try:
                    body = import_body(
                        cisco_import_csv(chunk, plus_prefix=self.plus_prefix)
                    )
                    self.http.request(
                        "POST",
                        path,
                        body=body.encode("utf-8"),
                        content_type="application/xml; charset=utf-8",
                    )
                except DialerUnavailable as error:
                    error.accepted = accepted + error.accepted
                    raise _explained(error, campaign_id) from None
                accepted.extend(request.contact_id for request in chunk)
        if accepted:
            log.info("UCCE accepted %d contact(s)", len(accepted))

    def collect_results(self) -> list[DialResult]:
        """Return nothing: results are read from Dialer_Detail (``result_source``)."""
        return []

    def import_status_results(
        self, dispatched: Mapping[str, Collection[int]]
    ) -> list[DialResult]:
        """Results from the Import API when Dialer_Detail cannot be read.

        Developer Reference 15.0(1), "Import API": ``list`` "Retrieves a list of all
        imported contacts for the campaign"; each record carries ``accountNumber``,
        ``callsMade``, ``callStatus`` ("closed (C)", "maxAttemptsReached (M)",
        "agentRejected (J)" ... see CallStatusZone Values) and
        ``callResultOverall`` ("The call result from the last call placed for this
        record"). Only the newest record of an account counts (every dispatch is a
        new import), and only for contacts ``dispatched`` (Cisco campaign id ->
        contact ids) that Cisco has finished with.
        """
        results: list[DialResult] = []
        for campaign_id, contact_ids in dispatched.items():
            wanted = {str(i) for i in contact_ids}
            if not wanted:
                continue
            newest: dict[str, tuple[int, ET.Element]] = {}
            for node in self._imported(campaign_id):
                account = (node.findtext("accountNumber") or "").strip()
                if account not in wanted:
                    continue
                record_id = _int(
                    (node.findtext("refURL") or "").rstrip("/").rsplit("/", 1)[-1]
                )
                if (
                    record_id is not None
                    and record_id >= newest.get(account, (-1, node))[0]
                ):
                    newest[account] = (record_id, node)
            for account, (_, node) in newest.items():
                result = _final_result(node)
                if result is not None:
                    results.append(
                        DialResult(int(account), result, f"UCCE import: {result}")
                    )
        return results

    def _imported(self, campaign_id: str):
        start = 0
        for _ in range(_MAX_PAGES):
            response = self.http.request(
                "GET",
                f"{CAMPAIGN_PATH}/{campaign_id}/import",
                query={"startIndex": start, "resultsPerPage": PAGE_SIZE},
            )
            root = parse_dialer_xml(response.text(), "UCCE import list")
            page = list(root.iter("importContact"))
            yield from page
            start += len(page)
            total = _int(root.findtext("pageInfo/totalResults"))
            if not page or total is None or start >= total:
                return

    def retry_settings(self, campaign_id: str) -> dict[str, int | None]:
        """The Cisco campaign's own retry settings (GET campaign/<id>).

        Developer Reference 15.0(1), "Outbound Campaign API", parameters:
        "maxAttempts: The maximum number of attempts, including callbacks and
        retries. Range is from 1 to 100. Default is 3."; "noAnswerDelay",
        "busySignalDelay" (minutes), shown under ``<retries>`` in the "Example Get
        Response". ECM's strategy retries; Cisco should not (docs/operations.md).
        """
        response = self.http.request("GET", f"{CAMPAIGN_PATH}/{campaign_id}")
        root = parse_dialer_xml(response.text(), "UCCE campaign")
        return {
            "maxAttempts": _int(root.findtext("maxAttempts")),
            "noAnswerDelay": _int(root.findtext("retries/noAnswerDelay")),
            "busySignalDelay": _int(root.findtext("retries/busySignalDelay")),
        }


# Developer Reference 15.0(1), "Import API", callStatus values: the ones after which
# Cisco will not dial the record again.
FINAL_CALL_STATUSES = frozenset({"closed", "maxattemptsreached", "agentrejected"})


def _final_result(node: ET.Element) -> int | None:
    status = (node.findtext("callStatus") or "").strip().lower()
    calls = _int(node.findtext("callsMade")) or 0
    result = _int(node.findtext("callResultOverall"))
    if status in FINAL_CALL_STATUSES and calls > 0 and result:
        return result
    return None


def _explained(error: DialerUnavailable, campaign_id: str) -> DialerUnavailable:
    """Name the documented reason for the Import API's not-found answer."""
    if error.status == 404 and "CceDBDataNotFoundException" in (error.body or ""):
        return DialerRejected(
            f"UCCE campaign {campaign_id} is not visible to the Import API: it was "
            "made with the Outbound Option Campaign tool, not the Outbound Campaign "
            "API (Cisco: such ids return CceDBDataNotFoundException). Create the "
            "campaign through the API and link that id.",
            accepted=error.accepted,
            status=error.status,
            body=error.body,
        )
    return error


def import_body(csv_text: str, *, delimiter: str = ",", overwrite: bool = False) -> str:
    """Wrap an import CSV in the Import API's documented XML envelope."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<import><fileContent>{cdata(csv_text)}</fileContent>"
        f"<delimiter>{delimiter}</delimiter>"
        f"<overwriteData>{'true' if overwrite else 'false'}</overwriteData></import>"
    )


def _campaign_row(node: ET.Element) -> dict[str, str]:
    ref = (node.findtext("refURL") or "").strip().rstrip("/")
    campaign_id = ref.rsplit("/", 1)[-1] if ref else ""
    if not campaign_id:
        return {}
    purpose = (node.findtext("campaignPurposeType") or "").lower()
    row = {
        "ciscoCampaignId": campaign_id,
        "ciscoCampaignName": (node.findtext("name") or "").strip(),
        "campaignType": "1" if "ivr" in purpose else "0",
    }
    attempts = _int(node.findtext("maxAttempts"))
    if attempts is not None:
        row["maxAttempts"] = str(attempts)
    return row


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None
