"""One feed tick: apply results, return timed-out dials, claim and dispatch."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal import metrics
from portal.extensions import db
from portal.models import Campaign, FeedHeartbeat, iso_z, utcnow
from portal.services import abandon, calling_rules, preferences, recycling
from portal.services.enums import CampaignType
from portal.services.feed import claim as claims
from portal.services.feed import results, watermarks
from portal.services.feed.eligibility import campaign_blockers
from portal.services.feed.gateways import build_feed_dialer, build_feed_sms
from portal.services.feed.plans import load_plans

log = logging.getLogger(__name__)

HEARTBEAT = "feed-tick"


def batch_size(campaign: Campaign, sizes: tuple[int, int]) -> int:
    """campaignBatchSize for agent and SMS campaigns, ivrBatchSize for IVR ones."""
    agent, ivr = sizes
    return ivr if campaign.type == CampaignType.IVR else agent


def run_tick(
    now: datetime | None = None, *, dialer: Any = None, sms: Any = None
) -> dict[str, Any]:
    """Run the three steps of SPEC §4's feed tick once; safe to run twice or at once."""
    try:
        counts = _tick(now, dialer, sms)
    except Exception:
        metrics.FEED_TICKS.labels(outcome="error").inc()
        db.session.rollback()
        raise
    metrics.FEED_TICKS.labels(outcome="ok").inc()
    return counts


def _tick(now: datetime | None, dialer: Any, sms: Any) -> dict[str, Any]:
    now = now or utcnow()
    started = time.perf_counter()
    counts: dict[str, Any] = {
        "applied": 0,
        "pulled": 0,
        "stale": 0,
        "timedOut": 0,
        "expired": 0,
        "spent": 0,
        "recycled": 0,
        "dispatched": 0,
        "returned": 0,
        "dncBlocked": 0,
        "invalid": 0,
        "skippedTimeZone": 0,
        "skippedRules": 0,
        "errors": [],
    }
    db.session.commit()
    dialer = (
        dialer if dialer is not None else _safe_build(build_feed_dialer, now, counts)
    )
    sms = sms if sms is not None else _safe_build(build_feed_sms, now, counts)

    # (1) results: what the adapters hold goes into the inbox, then the inbox is applied
    for adapter in (dialer, sms):
        if adapter is None:
            continue
        try:
            results.store_results(adapter.collect_results(), now)
            counts["pulled"] += watermarks.pull_dialer_results(adapter, now, counts)
        except Exception as exc:  # noqa: BLE001 - one adapter must not stop the tick
            log.warning("feed: collecting results failed: %s", exc)
            counts["errors"].append(f"collect: {exc}")
            db.session.rollback()
    applied = results.apply_inbox(now)
    counts["applied"], counts["stale"] = applied["applied"], applied["stale"]

    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    for campaign in campaigns:  # detached: later commits must not expire them
        db.session.expunge(campaign)
    plans = load_plans(c.strategy_id for c in campaigns)

    # (2) dials the dialer never answered return to pending without using an attempt
    counts["timedOut"] = claims.return_timed_out(campaigns, now)

    # (3) claim and hand over each eligible campaign's batch
    sizes = preferences.batch_sizes()
    db.session.commit()
    closed = claims.close_unreachable(campaigns, plans, now)
    calling_rules.prune_dial_log(now)
    counts["expired"], counts["spent"] = closed["expired"], closed["spent"]
    counts["abandonPaused"] = len(abandon.enforce(campaigns, now))
    counts["recycled"] = recycling.recycle_due(campaigns, now)
    for campaign in campaigns:
        plan = plans.get(campaign.strategy_id)
        if campaign_blockers(campaign, plan, now):
            continue
        texts = campaign.type == CampaignType.SMS
        adapter_missing = (sms is None) if texts else (dialer is None)
        if adapter_missing:
            continue
        claim = claims.claim_due_contacts(
            campaign, plan, batch_size(campaign, sizes), now
        )
        counts["dncBlocked"] += claim.dnc_blocked
        counts["invalid"] += claim.invalid
        counts["skippedTimeZone"] += claim.skipped_time_zone
        counts["skippedRules"] += claim.skipped_rules
        if claim.claimed:
            sent = claims.dispatch_claimed(campaign, claim, now, dialer, sms)
            counts["dispatched"] += sent["dispatched"]
            counts["returned"] += sent["returned"]
    # a simulated dial's result is due later; one queued for now is applied at once
    applied = results.apply_inbox(now)
    counts["applied"] += applied["applied"]
    counts["stale"] += applied["stale"]
    counts["seconds"] = round(time.perf_counter() - started, 3)
    record_heartbeat(counts, now)
    return counts


def _safe_build(build, now: datetime, counts: dict[str, Any]):
    try:
        return build(now)
    except Exception as exc:  # noqa: BLE001 - misconfigured adapter: report, keep going
        log.warning("feed: cannot build adapter: %s", exc)
        counts["errors"].append(str(exc))
        return None


def record_heartbeat(counts: dict[str, Any], now: datetime) -> None:
    """Upsert the feed-tick heartbeat so the dashboard can show the last tick."""
    upsert_heartbeat(HEARTBEAT, {**counts, "now": iso_z(now)})


def upsert_heartbeat(name: str, detail: dict[str, Any]) -> None:
    """Insert or replace one heartbeat row; safe when several workers write at once."""
    values = {"name": name, "at": utcnow(), "detail": detail}
    table = FeedHeartbeat.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"at": values["at"], "detail": detail}
    )
    db.session.execute(statement)
    db.session.commit()


def last_heartbeat() -> FeedHeartbeat | None:
    return db.session.get(FeedHeartbeat, HEARTBEAT)
