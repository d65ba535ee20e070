"""The abandon-rate guard: abandoned calls over live answers per campaign, 24 h, 30 d.

US (FTC 16 CFR 310.4(b)(4), FCC 47 CFR 64.1200(a)(7)): at most 3 % of calls answered
by a live person, per campaign, measured over 30 days. UK (Ofcom's persistent-misuse
statement): at most 3 % of live calls per campaign over 24 hours. A campaign with a
`maxAbandonRate` (percent) is paused by the feed tick, with the reason stored, when
either rolling rate is above it. Codes are named in docs/feed.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from portal.extensions import db
from portal.models import Campaign, ContactAttempt
from portal.services import audit
from portal.services.result_effects import ABANDONED_CODES

RUNNING, PAUSED = 1, 0
VOICE = 0
DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
# answered by a live person: connected, callbacks asked for, the two abandoned codes,
# agent rejections, customer dropped, wrong number / wrong person, agent timed out
LIVE_ANSWER_CODES = frozenset({10, 14, 16, 18, 19, 20, 21, 23, 24, 33})
WINDOWS = {"24h": DAY, "30d": MONTH}


def _percent(abandoned: int, live: int) -> float:
    return round(100.0 * abandoned / live, 2) if live else 0.0


def rates(campaign_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """{campaign: {"24h": {...}, "30d": {...}}} with abandoned, live and rate (%)."""
    out = {cid: _empty() for cid in campaign_ids}
    if not campaign_ids:
        return out
    recent = ContactAttempt.result_at > now - DAY
    abandoned = ContactAttempt.call_result.in_(ABANDONED_CODES)
    query = (
        select(
            ContactAttempt.campaign_id,
            func.count(),
            func.sum(case((abandoned, 1), else_=0)),
            func.sum(case((recent, 1), else_=0)),
            func.sum(case((abandoned & recent, 1), else_=0)),
        )
        .where(
            ContactAttempt.campaign_id.in_(campaign_ids),
            ContactAttempt.result_at > now - MONTH,
            ContactAttempt.result_at <= now,
            ContactAttempt.channel == VOICE,
            ContactAttempt.call_result.in_(LIVE_ANSWER_CODES),
        )
        .group_by(ContactAttempt.campaign_id)
    )
    for cid, live30, ab30, live24, ab24 in db.session.execute(query).all():
        out[cid] = {
            "24h": _window(int(ab24 or 0), int(live24 or 0)),
            "30d": _window(int(ab30 or 0), int(live30 or 0)),
        }
    return out


def _window(abandoned: int, live: int) -> dict[str, Any]:
    return {"abandoned": abandoned, "live": live, "rate": _percent(abandoned, live)}


def _empty() -> dict[str, Any]:
    return {name: _window(0, 0) for name in WINDOWS}


def stats_fields(figures: dict[str, Any]) -> dict[str, Any]:
    """The names SPEC section 8 fixes for campaign stats, and the counts behind them."""
    return {
        "abandonRate24h": figures["24h"]["rate"],
        "abandonRate30d": figures["30d"]["rate"],
        "abandoned24h": figures["24h"]["abandoned"],
        "liveAnswers24h": figures["24h"]["live"],
        "abandoned30d": figures["30d"]["abandoned"],
        "liveAnswers30d": figures["30d"]["live"],
    }


def crossed(campaign: Campaign, figures: dict[str, Any]) -> str | None:
    """Why the campaign must stop, or None: either rolling rate above the maximum."""
    limit = campaign.max_abandon_rate
    if limit is None:
        return None
    for name in WINDOWS:
        window = figures[name]
        if window["rate"] > limit:
            return (
                f"Paused by the abandon-rate guard: {window['rate']:.2f} % abandoned "
                f"over {name} ({window['abandoned']} of {window['live']} live "
                f"answers) is above the maximum of {limit:g} %"
            )
    return None


def enforce(campaigns: list[Campaign], now: datetime) -> list[int]:
    """Pause every running campaign whose rate crossed its maximum; says why.

    `campaigns` may be detached (the tick's copies): they are updated too, so the
    claim that follows sees the pause.
    """
    guarded = [
        c
        for c in campaigns
        if c.max_abandon_rate is not None and c.status == RUNNING and c.enabled
    ]
    if not guarded:
        return []
    figures = rates([c.id for c in guarded], now)
    paused = []
    for campaign in guarded:
        why = crossed(campaign, figures[campaign.id])
        if why is None:
            continue
        done = db.session.execute(
            Campaign.__table__.update()
            .where(Campaign.id == campaign.id, Campaign.status == RUNNING)
            .values(status=PAUSED, pause_reason=why[:255])
        ).rowcount
        campaign.status, campaign.pause_reason = PAUSED, why[:255]
        if done:
            audit.record(None, "pause", "campaign", campaign.id, {}, summary=why)
            paused.append(campaign.id)
    db.session.commit()
    return paused
