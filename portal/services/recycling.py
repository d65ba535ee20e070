"""Recycling: closed contacts reopened for another pass through the strategy.

A campaign's `recycleRules` say "reopen contacts closed with results R after D days,
at most K times" (VICIdial's lead recycling, Genesys' rule-based recycling); the feed
applies them every tick, and a manager can reopen a selection at once. A reopened
contact starts the strategy again from its first attempt with its attempts reset.
Its phone1 is checked against the DNC list as it reopens (a hit closes it as
blocked, state 5 / result 26); the claim then checks DNC and the calling rules again
at dial time, as for every contact. Each run that reopens anything is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import Campaign, Contact, User, utcnow
from portal.services import audit, dnc
from portal.services.enums import (
    BLOCKED_DNC,
    CALL_RESULTS,
    COMPLETED,
    EXPIRED,
    MAX_ATTEMPTS,
    PENDING,
    RESULT_ON_DNC,
    result_codes,
)
from portal.services.errors import ValidationFailed
from portal.services.feed._sql import begin_write, id_list_clause, is_postgres, run
from portal.services.roles import WRITERS, require
from portal.services.validation import Schema, parse

MAX_RULES = 10
MAX_SELECTION = 10_000
RECYCLE_BATCH = 5_000  # contacts one rule reopens per tick, keeping ticks short
RECYCLABLE_STATES = (COMPLETED, MAX_ATTEMPTS, EXPIRED)
CLOSED_SQL = "contacts.request_state IN (2, 3, 4)"


def _known_codes(codes: list[int]) -> list[int]:
    unknown = [c for c in codes if c not in CALL_RESULTS or c == 0]
    if unknown:
        raise ValueError(f"unknown call result code {unknown[0]}")
    return sorted(set(codes))


class RecycleRule(BaseModel):
    """Reopen contacts closed with one of `callResults` after `afterDays`, at most
    `maxTimes` times per contact."""

    model_config = ConfigDict(extra="forbid")

    callResults: list[int] = Field(min_length=1, max_length=40)
    afterDays: float = Field(ge=0, le=365)
    maxTimes: int = Field(default=1, ge=1, le=50)

    _codes = field_validator("callResults")(lambda cls, v: _known_codes(v))


def check_rules(rules: list[RecycleRule]) -> list[dict[str, Any]] | None:
    """The rules as stored on the campaign (None when there are none)."""
    return [rule.model_dump() for rule in rules] or None


def _reopen(campaign: Campaign, ids: list[int], now: datetime) -> tuple[int, int]:
    """Reopen closed contacts at the strategy's first attempt; DNC hits close as 5."""
    if not ids:
        return 0, 0
    where, params = id_list_clause(ids)
    keys = run(f"SELECT id, match_key FROM contacts WHERE {where}", params).all()
    blocked_keys = dnc.blocked_keys({k for _, k in keys}) if keys else set()
    blocked = [cid for cid, key in keys if key in blocked_keys]
    reopen = [cid for cid, key in keys if key not in blocked_keys]
    first = (
        campaign.strategy.attempts[0]
        if campaign.strategy and campaign.strategy.attempts
        else None
    )
    channel = 1 if campaign.type == 2 else (first.channel if first else 0)
    if reopen:
        where, params = id_list_clause(reopen)
        run(
            "UPDATE contacts SET request_state = :pending, attempts_made = 0, "
            "attempt_id = :attempt_id, attempt_number = :attempt_number, "
            "channel = :channel, dial_time = :now, expires_at = NULL, "
            "callback_at = NULL, number_to_call = NULL, request_time = NULL, "
            "last_status_update_time = :now, recycle_count = recycle_count + 1 "
            f"WHERE {where} AND {CLOSED_SQL}",
            {
                **params,
                "pending": PENDING,
                "attempt_id": first.id if first else None,
                "attempt_number": first.attempt_number if first else 1,
                "channel": channel,
                "now": now,
            },
        )
    if blocked:
        where, params = id_list_clause(blocked)
        run(
            "UPDATE contacts SET request_state = :state, call_result = :result, "
            f"last_status_update_time = :now WHERE {where} AND {CLOSED_SQL}",
            {**params, "state": BLOCKED_DNC, "result": RESULT_ON_DNC, "now": now},
        )
    return len(reopen), len(blocked)


def _candidates(campaign: Campaign, rule: dict[str, Any], now: datetime) -> list[int]:
    cutoff = now - timedelta(days=float(rule["afterDays"]))
    query = (
        select(Contact.id)
        .where(
            Contact.campaign_id == campaign.id,
            text(CLOSED_SQL),
            Contact.call_result.in_(rule["callResults"]),
            Contact.last_status_update_time <= cutoff,
            Contact.recycle_count < int(rule["maxTimes"]),
        )
        .limit(RECYCLE_BATCH)
    )
    if is_postgres():
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def recycle_due(campaigns: list[Campaign], now: datetime) -> int:
    """The feed step: apply every campaign's rules; returns contacts reopened."""
    total = 0
    for campaign in campaigns:
        if not campaign.recycle_rules:
            continue
        begin_write()
        live = db.session.get(Campaign, campaign.id)
        if live is None:
            db.session.commit()
            continue
        counts = {"reopened": 0, "blockedDnc": 0}
        for rule in live.recycle_rules or []:
            reopened, blocked = _reopen(live, _candidates(live, rule, now), now)
            counts["reopened"] += reopened
            counts["blockedDnc"] += blocked
        if counts["reopened"] or counts["blockedDnc"]:
            audit.record(
                None,
                "recycle",
                "campaign",
                live.id,
                {**counts, "rules": live.recycle_rules},
                summary=f"Recycling reopened {counts['reopened']} contact(s)",
            )
        db.session.commit()
        total += counts["reopened"]
    return total


NON_EMPTY = {"type": "array", "minItems": 1}


class RecycleIn(Schema):
    """A one-off recycle: these contact ids, or closed contacts with these results."""

    # recycle_selection needs a non-empty ids or callResults
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: NON_EMPTY}}
                for name in ("ids", "callResults")
            ]
        }
    )

    ids: list[int] | None = Field(default=None, max_length=MAX_SELECTION)
    callResults: list[int] | None = Field(
        default=None,
        max_length=40,
        json_schema_extra=lambda s: s["anyOf"][0]["items"].update(enum=result_codes()),
    )

    _codes = field_validator("callResults")(
        lambda cls, v: None if v is None else _known_codes(v)
    )


def recycle_selection(
    actor: User, campaign_id: Any, data: Any, now: datetime | None = None
) -> dict[str, int]:
    """Reopen a selection of a campaign's closed contacts now (audited)."""
    require(actor, WRITERS)
    from portal.services import campaigns

    body = parse(RecycleIn, data)
    if not body.ids and not body.callResults:
        raise ValidationFailed({"ids": "give ids or callResults"})
    campaign = campaigns.get_campaign(actor, campaign_id)
    now = now or utcnow()
    begin_write()
    campaign = db.session.get(Campaign, campaign.id)
    query = select(Contact.id).where(
        Contact.campaign_id == campaign.id,
        Contact.request_state.in_(RECYCLABLE_STATES),
    )
    if body.ids:
        query = query.where(Contact.id.in_(body.ids))
    if body.callResults:
        query = query.where(Contact.call_result.in_(body.callResults))
    ids = list(db.session.scalars(query.limit(MAX_SELECTION)))
    reopened, blocked = _reopen(campaign, ids, now)
    counts = {
        "reopened": reopened,
        "blockedDnc": blocked,
        "skipped": (len(body.ids) - len(ids)) if body.ids else 0,
    }
    audit.record(
        actor,
        "recycle",
        "campaign",
        campaign.id,
        {**counts, "ids": body.ids, "callResults": body.callResults},
        summary=f"Reopened {reopened} contact(s)",
    )
    db.session.commit()
    return counts
