"""One feed tick: apply results, return timed-out dials, claim and dispatch."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
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


@dataclass
class TickCounts:
    """What one tick did; reported with SPEC's camelCase names (``as_dict``)."""

    applied: int = 0
    pulled: int = 0
    stale: int = 0
    timed_out: int = 0
    expired: int = 0
    spent: int = 0
    recycled: int = 0
    dispatched: int = 0
    returned: int = 0
    dnc_blocked: int = 0
    invalid: int = 0
    skipped_time_zone: int = 0
    skipped_rules: int = 0
    errors: list[str] = field(default_factory=list)
    abandon_paused: int = 0
    seconds: float = 0.0

    def add_applied(self, applied: dict[str, int]) -> None:
        self.applied += applied["applied"]
        self.stale += applied["stale"]

    def add_claim(self, claim: claims.Claim) -> None:
        self.dnc_blocked += claim.dnc_blocked
        self.invalid += claim.invalid
        self.skipped_time_zone += claim.skipped_time_zone
        self.skipped_rules += claim.skipped_rules

    def as_dict(self) -> dict[str, Any]:
        """The heartbeat's detail, the job's result and the CLI line use these names."""
        return {_REPORTED[name]: value for name, value in vars(self).items()}


# attribute -> the name the heartbeat, the job result and `flask feed-tick` report
_REPORTED = {
    name: name.split("_")[0] + "".join(w.title() for w in name.split("_")[1:])
    for name in TickCounts.__dataclass_fields__
}


def run_tick(
    now: datetime | None = None, *, dialer: Any = None, sms: Any = None
) -> TickCounts:
    """Run the three steps of SPEC §4's feed tick once; safe to run twice or at once."""
    try:
        counts = _tick(now, dialer, sms)
    except Exception:
        metrics.FEED_TICKS.labels(outcome="error").inc()
        db.session.rollback()
        raise
    metrics.FEED_TICKS.labels(outcome="ok").inc()
    return counts


def _tick(now: datetime | None, dialer: Any, sms: Any) -> TickCounts:
    now = now or utcnow()
    started = time.perf_counter()
    counts = TickCounts()
    db.session.commit()
    if dialer is None:
        dialer = _safe_build(build_feed_dialer, now, counts)
    if sms is None:
        sms = _safe_build(build_feed_sms, now, counts)
    # (1) results: what the adapters hold goes into the inbox, then the inbox is applied
    _collect_results((dialer, sms), now, counts)
    counts.add_applied(results.apply_inbox(now))
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    for campaign in campaigns:  # detached: later commits must not expire them
        db.session.expunge(campaign)
    plans = load_plans(c.strategy_id for c in campaigns)
    # (2) dials the dialer never answered return to pending without using an attempt
    counts.timed_out = claims.return_timed_out(campaigns, now)
    # (3) claim and hand over each eligible campaign's batch
    sizes = preferences.batch_sizes()
    db.session.commit()
    _close_and_recycle(campaigns, plans, now, counts)
    for campaign in campaigns:
        _claim_and_dispatch(campaign, plans, sizes, now, dialer, sms, counts)
    # a simulated dial's result is due later; one queued for now is applied at once
    counts.add_applied(results.apply_inbox(now))
    counts.seconds = round(time.perf_counter() - started, 3)
    record_heartbeat(counts, now)
    return counts


def _collect_results(adapters: tuple, now: datetime, counts: TickCounts) -> None:
    """Put what each adapter holds, and what its dialer recorded, into the inbox."""
    for adapter in adapters:
        if adapter is None:
            continue
        try:
            results.store_results(adapter.collect_results(), now)
            counts.pulled += watermarks.pull_dialer_results(adapter, now, counts.errors)
        except Exception as exc:  # noqa: BLE001 - one adapter must not stop the tick
            log.warning("feed: collecting results failed: %s", exc)
            counts.errors.append(f"collect: {exc}")
            db.session.rollback()


def _close_and_recycle(
    campaigns: list[Campaign], plans: dict, now: datetime, counts: TickCounts
) -> None:
    """Close what can no longer be dialed, pause over-abandoning campaigns, recycle."""
    closed = claims.close_unreachable(campaigns, plans, now)
    calling_rules.prune_dial_log(now)
    counts.expired, counts.spent = closed["expired"], closed["spent"]
    counts.abandon_paused = len(abandon.enforce(campaigns, now))
    counts.recycled = recycling.recycle_due(campaigns, now)


def _claim_and_dispatch(
    campaign: Campaign,
    plans: dict,
    sizes: tuple[int, int],
    now: datetime,
    dialer: Any,
    sms: Any,
    counts: TickCounts,
) -> None:
    """Claim one eligible campaign's batch and hand it to its dialer or SMS gateway."""
    plan = plans.get(campaign.strategy_id)
    if campaign_blockers(campaign, plan, now):
        return
    adapter = sms if campaign.type == CampaignType.SMS else dialer
    if adapter is None:
        return
    claim = claims.claim_due_contacts(campaign, plan, batch_size(campaign, sizes), now)
    counts.add_claim(claim)
    if claim.claimed:
        sent = claims.dispatch_claimed(campaign, claim, now, dialer, sms)
        counts.dispatched += sent["dispatched"]
        counts.returned += sent["returned"]


def _safe_build(build, now: datetime, counts: TickCounts):
    try:
        return build(now)
    except Exception as exc:  # noqa: BLE001 - misconfigured adapter: report, keep going
        log.warning("feed: cannot build adapter: %s", exc)
        counts.errors.append(str(exc))
        return None


def record_heartbeat(counts: TickCounts, now: datetime) -> None:
    """Upsert the feed-tick heartbeat so the dashboard can show the last tick."""
    upsert_heartbeat(HEARTBEAT, {**counts.as_dict(), "now": iso_z(now)})


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
