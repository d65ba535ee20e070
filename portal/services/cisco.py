"""The dialer's own campaign list, fetched through the configured adapter and cached."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

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
    )


def fetch_cisco_campaigns(actor: User) -> list[dict]:
    """Ask the dialer for its campaigns, refresh the cache, and return them."""
    require(actor, READERS)
    from portal.services.dialers.base import DialerUnavailable

    try:
        campaigns = dialer().list_campaigns()
    except DialerUnavailable as exc:
        raise ServiceUnavailable(f"The dialer did not answer: {exc}") from None
    _refresh_cache(campaigns)
    return campaigns


def _refresh_cache(campaigns: list[dict]) -> None:
    known = {c.cisco_campaign_id: c for c in db.session.scalars(select(CiscoCampaign))}
    for item in campaigns:
        cid = str(item.get("ciscoCampaignId"))
        row = known.get(cid) or CiscoCampaign(cisco_campaign_id=cid)
        row.name = str(item.get("ciscoCampaignName") or cid)
        row.table_name = item.get("ciscoTableName")
        row.file_name = item.get("ciscoFileName")
        row.file_path = item.get("ciscoFilePath")
        row.campaign_type = str(item.get("campaignType") or "0")
        row.fetched_at = utcnow()
        db.session.add(row)
    db.session.commit()


def find(cisco_campaign_id: str) -> CiscoCampaign | None:
    """Look a dialer campaign up in the cache, refreshing it once when it is missing."""
    row = db.session.scalar(
        select(CiscoCampaign).where(CiscoCampaign.cisco_campaign_id == cisco_campaign_id)
    )
    if row is not None:
        return row
    from portal.services.dialers.base import DialerUnavailable

    try:
        _refresh_cache(dialer().list_campaigns())
    except DialerUnavailable:
        return None
    return db.session.scalar(
        select(CiscoCampaign).where(CiscoCampaign.cisco_campaign_id == cisco_campaign_id)
    )


def find_by_name(name: str) -> CiscoCampaign | None:
    return db.session.scalar(select(CiscoCampaign).where(CiscoCampaign.name == name))
