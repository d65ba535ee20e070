"""A dialer adapter for Cisco UCCX Outbound through the UCCX Configuration API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

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
    chunked,
    cisco_import_csv,
    group_by_cisco_campaign,
    parse_dialer_xml,
)

log = logging.getLogger(__name__)

CAMPAIGN_PATH = "/adminapi/campaign"
UCCX_CSV_HEADER = ("Account Number", "First Name", "Last Name", "Phone1")


class UccxDialer:
    """Add contacts to UCCX outbound campaigns with the Admin API.

    Documented by Cisco (UCCX Configuration API): ``GET /adminapi/campaign``
    returns ``<campaigns><campaign>`` with ``campaignId``, ``campaignName`` and
    ``campaignType`` (AGENT or IVR); ``POST /adminapi/campaign/{id}/contacts``
    takes ``<campaignContacts>`` with a ``<campaign name=…><refURL>`` reference,
    ``<allowDuplicateContacts>`` and ``<csvdata>`` whose first line is the header
    (Account Number, First Name, Last Name, Phone1–Phone3, Dial Time), answering
    200 or 202. Assumed, not documented for POST: 10,000 contacts a request (the
    documented GET cap, under Tomcat's 3 MB limit), and 503 meaning "retry later".

    Duplicates are allowed by default because ECM, not UCCX, decides when the same
    contact is dialed again. Results stay in UCCX; they reach ECM through
    ``POST /umm/ecm/callback/result``, so ``collect_results`` returns nothing.
    """

    name = "uccx"

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
        allow_duplicates: bool = True,
        verify_tls: bool | str = True,
    ) -> None:
        if not base_url:
            raise ValueError("the UCCX dialer needs a base URL (ECM_UCCX_URL)")
        self.rows_per_request = min(rows_per_request, MAX_ROWS_PER_REQUEST)
        self.allow_duplicates = allow_duplicates
        self._names: dict[str, str] = {}
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
            label="UCCX",
        )

    def list_campaigns(self) -> list[dict[str, str]]:
        """List UCCX campaigns shaped like the seed's CCX fetchCiscoCampaigns."""
        response = self.http.request("GET", CAMPAIGN_PATH)
        root = parse_dialer_xml(response.text(), "UCCX campaign list")
        nodes = root.findall("./campaign") or root.findall("./campaigns/campaign")
        campaigns: list[dict[str, str]] = []
        for node in nodes:
            campaign_id = (node.findtext("campaignId") or "").strip()
            if not campaign_id:
                self_url = (node.findtext("self") or "").strip().rstrip("/")
                campaign_id = self_url.rsplit("/", 1)[-1] if self_url else ""
            if not campaign_id:
                continue
            name = (node.findtext("campaignName") or "").strip()
            kind = (node.findtext("campaignType") or "").strip().upper()
            self._names[campaign_id] = name
            campaigns.append(
                {
                    "ciscoCampaignId": campaign_id,
                    "ciscoCampaignName": name,
                    "campaignType": "1" if kind == "IVR" else "0",
                }
            )
        return campaigns

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Add the batch to each UCCX campaign in chunks of at most 10,000 contacts."""
        accepted: list[int] = []
        for campaign_id, group in group_by_cisco_campaign(requests).items():
            path = f"{CAMPAIGN_PATH}/{campaign_id}/contacts"
            for chunk in chunked(group, self.rows_per_request):
                body = self.contacts_body(
                    campaign_id,
                    cisco_import_csv(
                        chunk, header=UCCX_CSV_HEADER, lineterminator="\n"
                    ),
                )
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
            log.info("UCCX accepted %d contact(s)", len(accepted))

    def collect_results(self) -> list[DialResult]:
        """Return nothing: UCCX results come back via POST /umm/ecm/callback/result."""
        return []

    def contacts_body(self, campaign_id: str, csv_text: str) -> str:
        """Build the documented campaignContacts XML for one campaign and chunk."""
        ref = self.http.url_for(f"{CAMPAIGN_PATH}/{campaign_id}")
        name = self._names.get(campaign_id)
        name_attr = f" name={quoteattr(name)}" if name else ""
        duplicates = "true" if self.allow_duplicates else "false"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<campaignContacts><campaign{name_attr}>"
            f"<refURL>{escape(ref)}</refURL></campaign>"
            f"<allowDuplicateContacts>{duplicates}</allowDuplicateContacts>"
            f"<csvdata>{escape(csv_text)}</csvdata></campaignContacts>"
        )
