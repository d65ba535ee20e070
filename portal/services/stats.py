"""Campaign figures for the dashboard and GET /umm/ecm/campaign/<id>/stats (one source).

Every count comes from an index: states and results from ix_contacts_stats (campaign,
state, result), the feed lag from ix_contacts_due, dials per hour from the attempts'
result_at index, the eligibility summary from the feed's own aggregates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Campaign, Contact, ContactAttempt, User, utcnow
from portal.services import campaigns as campaign_service
from portal.services.enums import (
    CALL_RESULTS,
    CAMPAIGN_STATUS,
    CAMPAIGN_TYPES,
    PENDING,
    REQUEST_STATES,
    call_result_name,
)
from portal.services.feed import eligibility
from portal.services.roles import READERS, require

HOURS = 24


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _hour_bucket():
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", ContactAttempt.result_at)
    return func.strftime("%Y-%m-%d %H:00:00", ContactAttempt.result_at)


def figures(campaigns: list[Campaign], now: datetime | None = None) -> list[dict[str, Any]]:
    """Contacts by state, results by code, dials per hour, feed lag and eligibility."""
    now = now or utcnow()
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    states: dict[int, dict[int, int]] = {cid: {} for cid in ids}
    results: dict[int, dict[int, int]] = {cid: {} for cid in ids}
    rows = db.session.execute(
        select(Contact.campaign_id, Contact.request_state, Contact.call_result, func.count())
        .where(Contact.campaign_id.in_(ids))
        .group_by(Contact.campaign_id, Contact.request_state, Contact.call_result)
    ).all()
    for cid, state, result, count in rows:
        states[cid][state] = states[cid].get(state, 0) + count
        if result:
            results[cid][result] = results[cid].get(result, 0) + count
    since = (now - timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    bucket = _hour_bucket()
    per_hour: dict[int, dict[str, int]] = {cid: {} for cid in ids}
    for cid, hour, count in db.session.execute(
        select(ContactAttempt.campaign_id, bucket, func.count())
        .where(ContactAttempt.campaign_id.in_(ids), ContactAttempt.result_at >= since)
        .group_by(ContactAttempt.campaign_id, bucket)
    ).all():
        key = hour if isinstance(hour, str) else hour.strftime("%Y-%m-%d %H:00:00")
        per_hour[cid][key[:13]] = count
    summary = eligibility.summary(campaigns, now)
    out = []
    for campaign in campaigns:
        oldest = db.session.scalar(
            select(func.min(Contact.dial_time)).where(
                Contact.campaign_id == campaign.id,
                Contact.request_state == PENDING,
                Contact.dial_time <= now,
            )
        )
        hours = []
        for n in range(HOURS):
            start = since + timedelta(hours=n)
            hours.append(
                {
                    "hour": _iso(start),
                    "dials": per_hour[campaign.id].get(start.strftime("%Y-%m-%d %H"), 0),
                }
            )
        by_state = states[campaign.id]
        out.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "type": CAMPAIGN_TYPES.get(campaign.type, str(campaign.type)),
                "status": CAMPAIGN_STATUS.get(campaign.status, str(campaign.status)),
                "enabled": bool(campaign.enabled),
                "total": sum(by_state.values()),
                "states": [
                    {"state": s, "name": name, "count": by_state.get(s, 0)}
                    for s, name in REQUEST_STATES.items()
                ],
                "results": [
                    {"callResult": code, "name": call_result_name(code), "count": count}
                    for code, count in sorted(
                        results[campaign.id].items(), key=lambda kv: (-kv[1], kv[0])
                    )
                    if code in CALL_RESULTS or count
                ],
                "dialsPerHour": hours,
                "dialsLast24h": sum(h["dials"] for h in hours),
                "feedLagSeconds": (
                    round((now - oldest).total_seconds()) if oldest is not None else 0
                ),
                "oldestDue": _iso(oldest),
                "eligibility": summary.get(campaign.id, {}),
                "at": _iso(now),
            }
        )
    return out


def campaign_stats(actor: User, campaign_id: Any, now: datetime | None = None) -> dict[str, Any]:
    """GET /umm/ecm/campaign/<id>/stats: one campaign's dashboard figures."""
    require(actor, READERS)
    campaign = campaign_service.get_campaign(actor, campaign_id)
    return figures([campaign], now)[0]


def dashboard(actor: User, now: datetime | None = None) -> dict[str, Any]:
    """Every campaign's figures plus the health of the feed and its workers."""
    require(actor, READERS)
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    return {"campaigns": figures(campaigns, now), "health": worker_health(now)}


def worker_health(now: datetime | None = None) -> dict[str, Any]:
    """RQ workers alive, the embedded runner, queue depth and the last feed tick."""
    from portal import queue as q
    from portal.services.feed.tick import last_heartbeat

    now = now or utcnow()
    health: dict[str, Any] = {"queue": None, "workers": [], "embedded": None}
    runner = current_app.extensions.get("ecm_embedded_runner")
    if runner is not None:
        health["embedded"] = not runner.stopping.is_set()
    try:
        from rq import Worker

        conn = q.connection()
        health["queue"] = q.queue().count
        health["workers"] = [
            {
                "name": w.name,
                "state": w.get_state(),
                "lastHeartbeat": _iso(w.last_heartbeat),
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
            "at": _iso(beat.at),
            "ageSeconds": round(age),
            "late": age > 3 * interval,
            "counts": {k: v for k, v in (beat.detail or {}).items() if k != "errors"},
            "errors": (beat.detail or {}).get("errors", []),
        }
    else:
        health["lastTick"] = None
    health["intervalSeconds"] = interval
    return health
