"""Campaign figures for the dashboard and GET /umm/ecm/campaign/<id>/stats (one source).

Counting a million contacts by state and result takes ~200 ms (PostgreSQL picks a
parallel sequential scan; an index on (campaign, state, result) was slower and made
every claim and result pay for one more index), too slow for a page that refreshes
every few seconds. So the counts are taken
by a periodic job (`worker.jobs.refresh_stats`, every ECM_FEED_INTERVAL seconds) and
kept as one snapshot per campaign (a `feed_heartbeats` row "stats:<id>"); the page
reads the snapshots and adds what is cheap and must be current (the campaign's own
settings, its calling-window blockers, the feed lag from one index probe). A campaign
without a fresh snapshot is counted on the spot. The API counts one campaign live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    Campaign,
    Contact,
    ContactAttempt,
    FeedHeartbeat,
    User,
    iso_z,
    utcnow,
)
from portal.services import abandon, cisco
from portal.services import campaigns as campaign_service
from portal.services.enums import (
    CAMPAIGN_STATUS,
    CAMPAIGN_TYPES,
    PENDING,
    REQUEST_STATES,
    CampaignStatus,
    call_result_name,
)
from portal.services.feed import eligibility
from portal.services.feed.plans import load_plans
from portal.services.feed.windows import campaign_window, local_time
from portal.services.roles import READERS, require

HOURS = 24
SNAPSHOT = "stats:"


def _hour_bucket():
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", ContactAttempt.result_at)
    return func.strftime("%Y-%m-%d %H:00:00", ContactAttempt.result_at)


def _since(now: datetime) -> datetime:
    return (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)


def count(campaigns: list[Campaign], now: datetime) -> dict[int, dict[str, Any]]:
    """The expensive part: contacts by state and result, dials per hour, reasons."""
    ids = [c.id for c in campaigns]
    raw: dict[int, dict[str, Any]] = {
        cid: {"states": {}, "results": {}, "hours": {}, "at": iso_z(now)} for cid in ids
    }
    if not ids:
        return raw
    for cid, state, result, n in db.session.execute(
        select(
            Contact.campaign_id,
            Contact.request_state,
            Contact.call_result,
            func.count(),
        )
        .where(Contact.campaign_id.in_(ids))
        .group_by(Contact.campaign_id, Contact.request_state, Contact.call_result)
    ).all():
        item = raw[cid]
        item["states"][str(state)] = item["states"].get(str(state), 0) + n
        if result:
            item["results"][str(result)] = item["results"].get(str(result), 0) + n
    bucket = _hour_bucket()
    for cid, hour, n in db.session.execute(
        select(ContactAttempt.campaign_id, bucket, func.count())
        .where(
            ContactAttempt.campaign_id.in_(ids), ContactAttempt.result_at >= _since(now)
        )
        .group_by(ContactAttempt.campaign_id, bucket)
    ).all():
        key = hour if isinstance(hour, str) else hour.strftime("%Y-%m-%d %H:00:00")
        raw[cid]["hours"][key[:13]] = n
    for cid, counts in eligibility.contact_reason_counts(campaigns, now).items():
        raw[cid]["reasons"] = counts
    for cid, figures in abandon.rates(ids, now).items():
        raw[cid]["abandon"] = figures
    return raw


def _store(raw: dict[int, dict[str, Any]]) -> None:
    from portal.services.feed.tick import upsert_heartbeat

    for cid, data in raw.items():
        upsert_heartbeat(f"{SNAPSHOT}{cid}", data)


def refresh(now: datetime | None = None) -> int:
    """Recount every campaign and keep the snapshots (the periodic job)."""
    now = now or utcnow()
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    raw = count(campaigns, now)
    live = {c.id for c in campaigns}
    _store(raw)
    stale = db.session.scalars(
        select(FeedHeartbeat).where(FeedHeartbeat.name.like(f"{SNAPSHOT}%"))
    ).all()
    for row in stale:  # snapshots of deleted campaigns
        if int(row.name[len(SNAPSHOT) :]) not in live:
            db.session.delete(row)
    db.session.commit()
    return len(campaigns)


def _snapshots(
    campaigns: list[Campaign], now: datetime, max_age: float | None
) -> dict[int, dict[str, Any]]:
    if max_age is None:
        return {}
    names = [f"{SNAPSHOT}{c.id}" for c in campaigns]
    cutoff = utcnow() - timedelta(seconds=max_age)
    return {
        int(row.name[len(SNAPSHOT) :]): row.detail
        for row in db.session.scalars(
            select(FeedHeartbeat).where(
                FeedHeartbeat.name.in_(names), FeedHeartbeat.at >= cutoff
            )
        )
        if row.detail
    }


def figures(
    campaigns: list[Campaign], now: datetime | None = None, max_age: float | None = None
) -> list[dict[str, Any]]:
    """Contacts by state, results by code, dials per hour, feed lag and eligibility.

    With max_age (seconds) a snapshot at most that old is used when there is one;
    without, everything is counted now.
    """
    now = now or utcnow()
    if not campaigns:
        return []
    raw = _snapshots(campaigns, now, max_age)
    missing = [c for c in campaigns if c.id not in raw]
    if missing:
        counted = count(missing, now)
        if max_age is not None:
            _store(counted)
        raw.update(counted)
    plans = load_plans(c.strategy_id for c in campaigns)
    return [_present(c, raw[c.id], plans.get(c.strategy_id), now) for c in campaigns]


def _present(
    campaign: Campaign, raw: dict[str, Any], plan, now: datetime
) -> dict[str, Any]:
    states = {int(k): v for k, v in raw.get("states", {}).items()}
    results = {int(k): v for k, v in raw.get("results", {}).items()}
    oldest = db.session.scalar(  # one probe of ix_contacts_due: always current
        select(func.min(Contact.dial_time)).where(
            Contact.campaign_id == campaign.id,
            Contact.request_state == PENDING,
            Contact.dial_time <= now,
        )
    )
    since = _since(now)
    hours = []
    for n in range(HOURS):
        start = since + timedelta(hours=n)
        hours.append(
            {
                "hour": iso_z(start),
                "dials": raw.get("hours", {}).get(start.strftime("%Y-%m-%d %H"), 0),
            }
        )
    return {
        "id": campaign.id,
        "name": campaign.name,
        "type": CAMPAIGN_TYPES.get(campaign.type, str(campaign.type)),
        "status": CAMPAIGN_STATUS.get(campaign.status, str(campaign.status)),
        "enabled": bool(campaign.enabled),
        "total": sum(states.values()),
        "states": [
            {"state": s, "name": name, "count": states.get(s, 0)}
            for s, name in REQUEST_STATES.items()
        ],
        "results": [
            {"callResult": code, "name": call_result_name(code), "count": n}
            for code, n in sorted(results.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "dialsPerHour": hours,
        "dialsLast24h": sum(h["dials"] for h in hours),
        "feedLagSeconds": round((now - oldest).total_seconds()) if oldest else 0,
        "oldestDue": iso_z(oldest),
        "eligibility": eligibility.summarise(
            campaign, plan, now, states.get(PENDING, 0), raw.get("reasons", {})
        ),
        **abandon.stats_fields(
            raw.get("abandon") or abandon.rates([campaign.id], now)[campaign.id]
        ),
        "maxAbandonRate": campaign.max_abandon_rate,
        "pauseReason": campaign.pause_reason,
        "countedAt": raw.get("at"),
        "at": iso_z(now),
        "ciscoRetryWarning": cisco.double_retry_warning(campaign, plan),
    }


def campaign_stats(
    actor: User, campaign_id: Any, now: datetime | None = None
) -> dict[str, Any]:
    """GET /umm/ecm/campaign/<id>/stats: one campaign's figures, counted now."""
    require(actor, READERS)
    campaign = campaign_service.get_campaign(actor, campaign_id)
    return figures([campaign], now)[0]


def snapshot_max_age() -> float:
    """How old a snapshot the dashboard accepts: three refresh intervals."""
    return 3 * float(current_app.config.get("ECM_FEED_INTERVAL", 10))


def dashboard(actor: User, now: datetime | None = None) -> dict[str, Any]:
    """Every campaign's figures (from the snapshots) plus feed and worker health."""
    require(actor, READERS)
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    return {
        "campaigns": figures(campaigns, now, max_age=snapshot_max_age()),
        "health": worker_health(now),
    }


def worker_health(now: datetime | None = None) -> dict[str, Any]:
    """RQ workers, the embedded runner, the queue's backlog and the last feed tick.

    `backlog.stalled` is the truth about the workers: jobs wait and none has been
    taken since the oldest was queued (whatever threads or processes exist).
    """
    from rq import Worker

    from portal import queue as q
    from portal.services.feed.tick import last_heartbeat

    health: dict[str, Any] = {
        "queue": None,
        "workers": [],
        "embedded": None,
        "backlog": None,
    }
    runner = current_app.extensions.get("ecm_embedded_runner")
    if runner is not None:
        health["embedded"] = runner.alive()
    try:
        conn = q.connection()
        health["backlog"] = q.backlog(
            stall_after=current_app.config["ECM_QUEUE_STALL_SECONDS"]
        )
        health["queue"] = health["backlog"]["depth"]
        health["workers"] = [
            {
                "name": w.name,
                "state": w.get_state(),
                "lastHeartbeat": iso_z(w.last_heartbeat),
                "host": w.hostname,
            }
            for w in Worker.all(connection=conn)
        ]
    except Exception as exc:  # noqa: BLE001 - Redis down must not break the dashboard
        health["queueError"] = f"queue unavailable ({type(exc).__name__})"
    beat = last_heartbeat()
    interval = current_app.config.get("ECM_FEED_INTERVAL", 10)
    if beat is not None:
        age = max(0.0, (utcnow() - beat.at).total_seconds())
        health["lastTick"] = {
            "at": iso_z(beat.at),
            "ageSeconds": round(age),
            "late": age > 3 * interval,
            "counts": {k: v for k, v in (beat.detail or {}).items() if k != "errors"},
            "errors": (beat.detail or {}).get("errors", []),
        }
    else:
        health["lastTick"] = None
    health["intervalSeconds"] = interval
    return health


def _dialable_since(campaign: Campaign, now: datetime) -> datetime:
    """When the campaign's calling window last opened (naive UTC)."""
    window = campaign_window(campaign)
    local = local_time(now, campaign.time_zone)
    if window.start == window.end:
        opened = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        opened = local.replace(
            hour=window.start.hour, minute=window.start.minute, second=0, microsecond=0
        )
        if opened > local:
            opened -= timedelta(days=1)
    return opened.astimezone(UTC).replace(tzinfo=None)


def feed_lag_seconds(now: datetime | None = None) -> float:
    """How long the oldest due contact of a dialable campaign has waited to be dialed.

    Only campaigns the feed may dial now count (switched on, running, inside their
    window); a contact's wait starts when it became due, the window opened or the
    campaign was last changed (resumed), whichever is latest.
    """
    now = now or utcnow()
    candidates = list(
        db.session.scalars(
            select(Campaign).where(
                Campaign.enabled.is_(True), Campaign.status == CampaignStatus.RUNNING
            )
        )
    )
    plans = load_plans({c.strategy_id for c in candidates if c.strategy_id})
    lag = 0.0
    for campaign in candidates:
        if eligibility.campaign_blockers(
            campaign, plans.get(campaign.strategy_id), now
        ):
            continue
        due = db.session.scalar(  # an index probe on ix_contacts_due
            select(func.min(Contact.dial_time)).where(
                Contact.campaign_id == campaign.id,
                Contact.request_state == PENDING,
                Contact.dial_time <= now,
            )
        )
        if due is None:
            continue
        since = max(due, _dialable_since(campaign, now), campaign.last_updated or due)
        lag = max(lag, (now - since).total_seconds())
    return lag
