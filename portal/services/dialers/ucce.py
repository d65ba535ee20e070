"""A dialer adapter for Cisco UCCE/PCCE Outbound Option via the Unified Config API."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from portal.services.dialers._http import (
    CISCO_RETRY_STATUSES,
    RetryingHttpClient,
    basic_auth,
)
from portal.services.dialers.base import (
    MAX_ROWS_PER_REQUEST,
    DialerUnavailable,
    DialRequest,
    DialResult,
    cdata,
    chunked,
    cisco_import_csv,
    group_by_cisco_campaign,
    parse_dialer_xml,
)

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
    Campaigns made with the Outbound Option Campaign tool are not visible here.

    Results: UCCE writes call results to its own Dialer_Detail/BA tables, which
    this adapter cannot reach, so ``collect_results`` returns nothing; results for
    UCCE arrive through the ECM endpoint ``POST /umm/ecm/callback/result``.
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
    ) -> None:
        if not base_url:
            raise ValueError("the UCCE dialer needs a base URL (ECM_UCCE_URL)")
        self.rows_per_request = min(rows_per_request, MAX_ROWS_PER_REQUEST)
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
        return campaigns

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Import the batch per Cisco campaign in chunks of at most 10,000 rows."""
        accepted: list[int] = []
        for campaign_id, group in group_by_cisco_campaign(requests).items():
            path = f"{CAMPAIGN_PATH}/{campaign_id}/import"
            for chunk in chunked(group, self.rows_per_request):
                body = import_body(cisco_import_csv(chunk))
                try:
                    self.http.request(
                        "POST",
                        path,
                        body=body.encode("utf-8"),
                        content_type="application/xml; charset=utf-8",
                    )
                except DialerUnavailable as error:
                    error.accepted = accepted + error.accepted
                    raise
                accepted.extend(request.contact_id for request in chunk)
        if accepted:
            log.info("UCCE accepted %d contact(s)", len(accepted))

    def collect_results(self) -> list[DialResult]:
        """Return nothing: UCCE results come back via POST /umm/ecm/callback/result."""
        return []


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
    return {
        "ciscoCampaignId": campaign_id,
        "ciscoCampaignName": (node.findtext("name") or "").strip(),
        "campaignType": "1" if "ivr" in purpose else "0",
    }


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None
