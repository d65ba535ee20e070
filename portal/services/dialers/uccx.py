"""A dialer adapter for Cisco UCCX Outbound through the UCCX Configuration API."""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from portal.services.dialers._http import (
    CISCO_RETRY_STATUSES,
    HttpResponse,
    RetryingHttpClient,
    basic_auth,
)
from portal.services.dialers.base import (
    DialerRejected,
    DialerUnavailable,
    DialRequest,
    DialResult,
    cisco_import_csv,
    group_by_cisco_campaign,
    parse_dialer_xml,
)

log = logging.getLogger(__name__)

CAMPAIGN_PATH = "/adminapi/campaign"
# UCCX Developer Guide, "Data Structure for Campaign Contacts", csvdata: "The first
# non-empty line is treated as header line"; supported case-insensitive headers
# Account Number, First Name, Last Name, Phone1, Phone2, Phone3, Dial Time.
UCCX_CSV_HEADER = ("Account Number", "First Name", "Last Name", "Phone1")
# Same page: "Tomcat has a 3 MB size restriction".
TOMCAT_MAX_BYTES = 3 * 1024 * 1024


class UccxDialer:
    """Add contacts to UCCX outbound campaigns with the Admin API.

    Documented by Cisco (UCCX Configuration API): ``GET /adminapi/campaign``
    returns ``<campaigns><campaign>`` with ``campaignId``, ``campaignName`` and
    ``campaignType`` (AGENT or IVR); ``POST /adminapi/campaign/{id}/contacts``
    takes ``<campaignContacts>`` with a ``<campaign name=…><refURL>`` reference,
    ``<allowDuplicateContacts>`` and ``<csvdata>`` whose first line is the header
    (Account Number, First Name, Last Name, Phone1–Phone3, Dial Time), answering
    200 or 202. Cisco documents no row cap for POST (the 10,000 of "Data
    Structure for Campaign Contacts" is the GET's), only "Tomcat has a 3 MB size
    restriction": requests are cut by size, not by row count.

    The campaign element carries the campaign's name in every request ("campaign:
    nameUriPair"), taken from the cached campaign table (``names``) or, failing
    that, from one campaign list. After each POST the import status is read ("Get
    Campaign Contacts Import Status", ``GET /adminapi/campaign/{id}/contacts/status``,
    or the ``Location`` the answer names): a ``FAILURE`` result raises
    DialerRejected so the feed returns that chunk to pending.

    Duplicates are allowed by default because ECM, not UCCX, decides when the same
    contact is dialed again. Final call outcomes are read from db_cra's DialingList
    (``outcome_source``, ECM_UCCX_RESULTS_URL; ``dialers.uccx_results``); without
    it they reach ECM through ``POST /umm/ecm/callback/result``.
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
        max_body_bytes: int = TOMCAT_MAX_BYTES,
        allow_duplicates: bool = True,
        verify_tls: bool | str = True,
        plus_prefix: str = "",
        names: Callable[[str], str | None] | None = None,
        outcome_source: Any = None,
    ) -> None:
        if not base_url:
            raise ValueError("the UCCX dialer needs a base URL (ECM_UCCX_URL)")
        self.outcome_source = outcome_source
        self.max_body_bytes = max_body_bytes
        self.allow_duplicates = allow_duplicates
        self.plus_prefix = plus_prefix
        self._lookup = names
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
            row = {
                "ciscoCampaignId": campaign_id,
                "ciscoCampaignName": name,
                "campaignType": "1" if kind == "IVR" else "0",
            }
            # UCCX Developer Guide, "Common Data Structure for IVR-Based and
            # Agent-Based Campaigns": maxDialAttempts, 1-3, default 3.
            attempts = (node.findtext("maxDialAttempts") or "").strip()
            if attempts.isdigit():
                row["maxAttempts"] = attempts
            campaigns.append(row)
        return campaigns

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Add the batch to each UCCX campaign in requests under Tomcat's 3 MB."""
        accepted: list[int] = []
        for campaign_id, group in group_by_cisco_campaign(requests).items():
            path = f"{CAMPAIGN_PATH}/{campaign_id}/contacts"
            for body, chunk in self._bodies(campaign_id, group):
                try:
                    response = self.http.request(
                        "POST",
                        path,
                        body=body,
                        content_type="application/xml; charset=utf-8",
                    )
                    self._check_import(campaign_id, response)
                except DialerUnavailable as error:
                    error.accepted = accepted + error.accepted
                    raise
                accepted.extend(request.contact_id for request in chunk)
        if accepted:
            log.info("UCCX accepted %d contact(s)", len(accepted))

    def collect_results(self) -> list[DialResult]:
        """Return nothing: UCCX results come back via POST /umm/ecm/callback/result."""
        return []

    def _bodies(self, campaign_id: str, group: list[DialRequest]):
        """(body bytes, requests) pairs, each body under ``max_body_bytes``."""
        pending = list(group)
        while pending:
            size = len(pending)
            while True:
                csv_text = cisco_import_csv(
                    pending[:size],
                    header=UCCX_CSV_HEADER,
                    lineterminator="\n",
                    plus_prefix=self.plus_prefix,
                    time_zones=False,
                )
                body = self.contacts_body(campaign_id, csv_text).encode("utf-8")
                if len(body) <= self.max_body_bytes or size == 1:
                    break
                size = max(1, size * self.max_body_bytes // len(body) - 1)
            yield body, pending[:size]
            pending = pending[size:]

    def _check_import(self, campaign_id: str, response: HttpResponse) -> None:
        """Read the import status; FAILURE means UCCX did not take the contacts."""
        location = (response.headers.get("Location") or "").strip()
        path = location or f"{CAMPAIGN_PATH}/{campaign_id}/contacts/status"
        if location.lower().startswith(("http://", "https://")):
            path = urllib.parse.urlsplit(location).path
        status = self.http.request("GET", path)
        root = parse_dialer_xml(status.text(), "UCCX import status")
        results = [
            (node.get("importType", ""), (node.findtext("result") or "").strip())
            for node in root.iter("status")
        ]
        failed = [kind for kind, result in results if result.upper() == "FAILURE"]
        if any(kind.upper() in ("MANUAL", "") for kind in failed):
            raise DialerRejected(
                f"UCCX reported the contact import for campaign {campaign_id} as "
                f"FAILURE: {status.text()[:300]}"
            )

    def campaign_name(self, campaign_id: str) -> str | None:
        """The campaign's name: the cached table first, then one campaign list."""
        name = self._names.get(campaign_id)
        if name is None and self._lookup is not None:
            name = self._lookup(campaign_id)
        if name is None:
            self.list_campaigns()
            name = self._names.get(campaign_id)
        if name is not None:
            self._names[campaign_id] = name
        return name

    def contacts_body(self, campaign_id: str, csv_text: str) -> str:
        """Build the documented campaignContacts XML for one campaign and chunk."""
        ref = self.http.url_for(f"{CAMPAIGN_PATH}/{campaign_id}")
        name = self.campaign_name(campaign_id)
        if not name:
            raise DialerRejected(
                f"UCCX campaign {campaign_id} is not in the campaign list; "
                "fetch the Cisco campaigns and link an existing one"
            )
        name_attr = f" name={quoteattr(name)}"
        duplicates = "true" if self.allow_duplicates else "false"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<campaignContacts><campaign{name_attr}>"
            f"<refURL>{escape(ref)}</refURL></campaign>"
            f"<allowDuplicateContacts>{duplicates}</allowDuplicateContacts>"
            f"<csvdata>{escape(csv_text)}</csvdata></campaignContacts>"
        )
