"""The dialer's own campaign list, fetched through the configured adapter and cached."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CiscoCampaign, User, utcnow
from portal.services import preferences
from portal.services.errors import ServiceUnavailable
from portal.services.roles import READERS, require


def dialer():
    """The configured dialer adapter (ECM_DIALER) built with the saved preferences."""
    from portal.services.dialers import build_dialer

    return build_dialer(
        current_app.config["ECM_DIALER"],
        preferences.as_dict(preferences.current()),
        current_app.config,
        names=cached_name,
        campaigns=cached_campaign,
    )


def _cached(cisco_campaign_id: str) -> CiscoCampaign | None:
    return db.session.scalar(
        select(CiscoCampaign).where(
            CiscoCampaign.cisco_campaign_id == str(cisco_campaign_id)
        )
    )


def cached_name(cisco_campaign_id: str) -> str | None:
    """The cached campaign's name (UCCX wants it in every request), no refresh."""
    row = _cached(cisco_campaign_id)
    return row.name if row is not None else None


def cached_campaign(cisco_campaign_id: str) -> dict[str, str | None] | None:
    """The cached campaign's file-drop fields (ciscoFilePath, ciscoFileName)."""
    row = _cached(cisco_campaign_id)
    if row is None:
        return None
    return {
        "ciscoCampaignId": row.cisco_campaign_id,
        "ciscoCampaignName": row.name,
        "ciscoFilePath": row.file_path,
        "ciscoFileName": row.file_name,
    }


def _dialer_campaigns() -> list[dict]:
    """The adapter's campaign list; a dialer that is not configured counts as down."""
    from portal.services.dialers.base import DialerUnavailable

    try:
        adapter = dialer()
    except ValueError as exc:
        raise DialerUnavailable(f"the dialer is not configured: {exc}") from None
    return adapter.list_campaigns()


def fetch_cisco_campaigns(actor: User) -> list[dict]:
    """Ask the dialer for its campaigns, refresh the cache, and return them."""
    require(actor, READERS)
    from portal.services.dialers.base import DialerUnavailable

    try:
        campaigns = _dialer_campaigns()
    except DialerUnavailable as exc:
        raise ServiceUnavailable(f"The dialer did not answer: {exc}") from None
    _refresh_cache(campaigns)
    return campaigns


def _refresh_cache(campaigns: list[dict]) -> None:
    known = {c.cisco_campaign_id: c for c in db.session.scalars(select(CiscoCampaign))}
    for item in campaigns:
        cid = str(item.get("ciscoCampaignId"))
        row = known.get(cid) or CiscoCampaign(cisco_campaign_id=cid)
        known[cid] = row
        row.name = str(item.get("ciscoCampaignName") or cid)
        row.table_name = item.get("ciscoTableName")
        row.file_name = item.get("ciscoFileName")
        row.file_path = item.get("ciscoFilePath")
        row.campaign_type = str(item.get("campaignType") or "0")
        row.max_attempts = _int_or_none(item.get("maxAttempts"))
        row.fetched_at = utcnow()
        db.session.add(row)
    db.session.commit()


CACHE_FRESH = timedelta(seconds=60)


def _refresh_if_stale() -> None:
    """Ask the dialer again on a cache miss, at most once a minute, never failing."""
    from portal.services.dialers.base import DialerUnavailable

    newest = db.session.scalar(select(func.max(CiscoCampaign.fetched_at)))
    if newest is not None and utcnow() - newest < CACHE_FRESH:
        return
    try:
        _refresh_cache(_dialer_campaigns())
    except DialerUnavailable:
        return


def find(cisco_campaign_id: str) -> CiscoCampaign | None:
    """Look a dialer campaign up in the cache, refreshing a stale cache on a miss."""
    query = select(CiscoCampaign).where(
        CiscoCampaign.cisco_campaign_id == cisco_campaign_id
    )
    row = db.session.scalar(query)
    if row is None:
        _refresh_if_stale()
        row = db.session.scalar(query)
    return row


def find_by_name(name: str) -> CiscoCampaign | None:
    """The dialer campaign named like a skill group (any case), refreshing on a miss."""
    query = (
        select(CiscoCampaign)
        .where(func.lower(CiscoCampaign.name) == name.lower())
        .order_by(CiscoCampaign.id)
        .limit(1)
    )
    row = db.session.scalar(query)
    if row is None:
        _refresh_if_stale()
        row = db.session.scalar(query)
    return row


def _int_or_none(value) -> int | None:  # noqa: ANN001
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def double_retry_warning(campaign, plan) -> str | None:  # noqa: ANN001
    """Say when the Cisco campaign retries contacts that our strategy retries too."""
    if not campaign.cisco_campaign_id or plan is None:
        return None
    row = _cached(campaign.cisco_campaign_id)
    if row is None or not row.max_attempts or row.max_attempts <= 1:
        return None
    retries = plan.max_attempts > 1 and any(a.rules for a in plan.by_id.values())
    if not retries:
        return None
    return (
        f"Cisco campaign {row.name} ({row.cisco_campaign_id}) makes up to "
        f"{row.max_attempts} attempts per contact and this campaign's strategy "
        "retries too: a contact can be dialed more often than the strategy says. "
        "Set the Cisco campaign to 1 attempt (docs/operations.md)."
    )
