"""Claiming due contacts and handing them to the dialer: never the same contact twice.

A claim and the state change commit together before any adapter is called, so a
worker killed mid-tick leaves dispatched contacts that the response timeout returns
to pending, and a tick that runs twice finds nothing left to claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from portal import metrics
from portal.extensions import db
from portal.models import Campaign, Contact
from portal.services import (
    calling_rules,
    contact_filters,
    dial_order,
    dnc,
    phones,
    suppression,
)
from portal.services.dialers import DialerUnavailable, DialRequest, render_sms_template
from portal.services.enums import (
    BLOCKED_DNC,
    DISPATCHED,
    EXPIRED,
    INVALID,
    MAX_ATTEMPTS,
    PENDING,
    RESULT_ON_DNC,
    CampaignType,
    Channel,
)
from portal.services.feed._sql import (
    begin_write,
    bulk_update,
    id_list_clause,
    is_postgres,
    run,
)
from portal.services.feed.eligibility import contact_window_open, contact_zones, region
from portal.services.feed.plans import StrategyPlan, number_for
from portal.services.feed.windows import Window, campaign_window

log = logging.getLogger(__name__)

SCAN_PAGES = 20  # contact-time-zone campaigns look this many batches deep per tick
_PHONES = tuple(f"phone{i}" for i in range(1, 6))
_PARAMS = tuple(f"business_param{i}" for i in range(1, 13))
_CANDIDATE_COLUMNS = (
    Contact.id,
    Contact.dial_time,
    Contact.attempt_id,
    Contact.attempt_number,
    *(getattr(Contact, p) for p in _PHONES),
    *(getattr(Contact, p) for p in _PARAMS),
    Contact.time_zone,  # the contact's own zone and region, when given
    Contact.region,
)


@dataclass
class Claimed:
    """One contact this worker now owns for one dial."""

    contact_id: int
    number: str
    attempt_id: int
    attempt_number: int
    channel: int
    phones: dict[str, str | None]
    params: dict[str, str | None]
    time_zone: str | None = None  # the contact's own zone and region, when given
    region: str | None = None


@dataclass
class Claim:
    claimed: list[Claimed] = field(default_factory=list)
    dnc_blocked: int = 0
    invalid: int = 0
    skipped_time_zone: int = 0
    held: int = 0
    skipped_rules: int = 0  # calling rules: caps, regional hours, restricted dates


def claim_due_contacts(
    campaign: Campaign, plan: StrategyPlan, limit: int, now: datetime
) -> Claim:
    """Take up to `limit` due contacts of the campaign (callbacks first, then its
    dialOrder, within its contact filter) and mark them dispatched (or DNC-blocked /
    invalid) in one committed transaction."""
    result = Claim()
    if limit <= 0 or not plan.by_number:
        return result
    begin_write()
    rules = calling_rules.ClaimRules(campaign, plan, now)
    chosen = _candidates(campaign, plan, limit, now, rules, result)
    region_code = region()
    keys = {number: _key(number, region_code) for _, _, number in chosen if number}
    chosen = rules.admit(chosen, keys)
    channel_of = _channel_rule(campaign)
    verdict = suppression.check_dial(
        campaign.id,
        [
            (row.id, keys[number], channel_of(attempt))
            for row, attempt, number in chosen
            if number
        ],
        now,
    )
    dnc_ids, invalid_ids = _sort_claimed(chosen, verdict, channel_of, result)
    _mark_dispatched(result.claimed, now)
    rules.record([(c.contact_id, c.number, c.region) for c in result.claimed], keys)
    result.skipped_rules = rules.skipped
    _close(dnc_ids, BLOCKED_DNC, now, call_result=RESULT_ON_DNC)
    _hold(verdict.held)
    result.held = len(verdict.held)
    _close(invalid_ids, INVALID, now)
    result.dnc_blocked = len(dnc_ids)
    result.invalid = len(invalid_ids)
    db.session.commit()
    return result


def _candidates(
    campaign: Campaign,
    plan: StrategyPlan,
    limit: int,
    now: datetime,
    rules: calling_rules.ClaimRules,
    result: Claim,
) -> list[tuple[Any, Any, str]]:
    """Up to `limit` (row, attempt, number) due now, each source in turn (callbacks,
    then the dial order), row-locked on PostgreSQL; contact-zone and calling-rule
    checks that cannot be SQL skip rows, so those campaigns read a few pages."""
    base = select(*_CANDIDATE_COLUMNS).where(
        Contact.campaign_id == campaign.id,
        Contact.request_state == PENDING,
        Contact.dial_time <= now,
        Contact.attempts_made < plan.max_attempts,
        (Contact.expires_at.is_(None)) | (Contact.expires_at > now),
        *rules.filters(),
    )
    check_zone = bool(campaign.respect_contact_time_zone)
    window = campaign_window(campaign) if check_zone else None
    pages = SCAN_PAGES if check_zone or rules.on else 1
    keep = contact_filters.campaign_condition(campaign)
    chosen: list[tuple[Any, Any, str]] = []
    for query, ordering in dial_order.sources(
        base, campaign.dial_order, now, limit, keep
    ):
        if is_postgres():
            query = query.with_for_update(skip_locked=True)
        after: Any = None
        for _ in range(pages):
            page_query = query if after is None else query.where(ordering.after(after))
            rows = db.session.execute(page_query).all()
            _choose(rows, plan, window, now, rules, result, chosen, limit)
            if len(chosen) >= limit or len(rows) < limit:
                break
            after = rows[-1]
        if len(chosen) >= limit:
            break
    return chosen


def _choose(
    rows: list,
    plan: StrategyPlan,
    window: Window | None,
    now: datetime,
    rules: calling_rules.ClaimRules,
    result: Claim,
    chosen: list[tuple[Any, Any, str]],
    limit: int,
) -> None:
    """Add the page's rows whose number may be dialed now to `chosen`, up to `limit`.

    `window` is the campaign's when it respects the contact's zone, else None. A row
    left with no number is kept: it is closed as invalid."""
    ruled_out = suppression.number_blocks(row.id for row in rows)
    for row in rows:
        phones_ = dict(zip(_PHONES, row[4:9], strict=True))
        attempt = plan.attempt_for(row.attempt_id, row.attempt_number)
        number = number_for(phones_, attempt)
        number = suppression.pick_number(phones_, number, ruled_out.get(row.id))
        if (
            number
            and window is not None
            and not contact_window_open(
                window, contact_zones(number, row.time_zone), now
            )
        ):
            result.skipped_time_zone += 1
            continue
        if number and not rules.allows(number, row.time_zone, row.region):
            continue
        chosen.append((row, attempt, number))
        if len(chosen) >= limit:
            return


def _channel_rule(campaign: Campaign):
    """The channel a claimed attempt is sent on: every attempt of an SMS campaign
    texts, the others use their attempt's channel."""
    if campaign.type == CampaignType.SMS:
        return lambda attempt: Channel.SMS
    return lambda attempt: attempt.channel


def _sort_claimed(
    chosen: list[tuple[Any, Any, str]], verdict, channel_of, result: Claim
) -> tuple[list[int], list[int]]:
    """Claimed (into `result`), DNC-blocked and number-less ids; held ones wait."""
    dnc_ids: list[int] = []
    invalid_ids: list[int] = []
    for row, attempt, number in chosen:
        if not number:
            invalid_ids.append(row.id)
        elif row.id in verdict.blocked:
            dnc_ids.append(row.id)
        elif row.id not in verdict.held:
            result.claimed.append(
                Claimed(
                    contact_id=row.id,
                    number=number,
                    attempt_id=attempt.id,
                    attempt_number=attempt.number,
                    channel=channel_of(attempt),
                    phones=dict(zip(_PHONES, row[4:9], strict=True)),
                    params=dict(zip(_PARAMS, row[9:21], strict=True)),
                    time_zone=row.time_zone,
                    region=row.region,
                )
            )
    return dnc_ids, invalid_ids


def _mark_dispatched(claimed: list[Claimed], now: datetime) -> None:
    """State 1 with the number, attempt and channel of the dial, one attempt used."""
    stamp = ":now" if not is_postgres() else "CAST(:now AS timestamp)"
    bulk_update(
        "contacts",
        [
            {
                "id": c.contact_id,
                "number_to_call": c.number,
                "attempt_id": c.attempt_id,
                "attempt_number": c.attempt_number,
                "channel": c.channel,
            }
            for c in claimed
        ],
        {
            "id": "bigint",
            "number_to_call": "text",
            "attempt_id": "integer",
            "attempt_number": "integer",
            "channel": "integer",
        },
        {
            "request_state": str(DISPATCHED),
            "attempts_made": "attempts_made + 1",
            "request_time": stamp,
            "last_status_update_time": stamp,
            "callback_at": "NULL",  # a callback is one dial, then the strategy's
        },
        extra={"now": now},
    )


def _hold(held: dict[int, tuple[datetime, str]]) -> None:
    """Pending contacts whose number is suppressed for a while wait until it ends."""
    if held:
        run(
            "UPDATE contacts SET dial_time = :until WHERE id = :id "
            "AND request_state = 0",
            [{"id": cid, "until": until} for cid, (until, _) in held.items()],
        )


def _key(number: str, region_code: str) -> str:
    try:
        return phones.match_key(number, region_code)
    except Exception:  # noqa: BLE001 - an odd stored number still gets a DNC check
        return number


def _close(
    ids: list[int], state: int, now: datetime, call_result: int | None = None
) -> None:
    if not ids:
        return
    where, params = id_list_clause(ids)
    extra = ", call_result = :result" if call_result is not None else ""
    run(
        (
            f"UPDATE contacts SET request_state = :state, "
            f"last_status_update_time = :now"
            f"{extra} WHERE {where}"
        ),
        {**params, "state": state, "now": now, "result": call_result},
    )


def return_to_pending(ids: list[int], now: datetime) -> int:
    """Undo a claim the dialer never took: back to pending, the attempt not used."""
    if not ids:
        return 0
    where, params = id_list_clause(ids)
    result = run(
        (
            "UPDATE contacts SET request_state = :pending, "
            "attempts_made = attempts_made - 1, request_time = NULL "
            f"WHERE {where} AND request_state = :dispatched AND request_time = :now"
        ),
        {**params, "pending": PENDING, "dispatched": DISPATCHED, "now": now},
    )
    calling_rules.forget_dials(ids, now)
    db.session.commit()
    return result.rowcount or 0


def _single_zone(number: str, region: str) -> str | None:
    """The number's zone when it has exactly one (Cisco's TimeZoneBias needs one)."""
    zones = contact_zones(number)  # cached per zone prefix: a parse per number is slow
    return zones[0] if len(zones) == 1 else None


def dial_requests(campaign: Campaign, claimed: list[Claimed]) -> list[DialRequest]:
    region = dnc.region()
    return [
        DialRequest(
            contact_id=c.contact_id,
            campaign_id=campaign.id,
            cisco_campaign_id=campaign.cisco_campaign_id,
            number=c.number,
            channel=c.channel,
            attempt_number=c.attempt_number,
            business_params={
                f"businessParam{i}": v
                for i, v in enumerate(c.params.values(), start=1)
                if v is not None
            },
            phone_fields={k: v for k, v in c.phones.items() if v},
            time_zone=c.time_zone or _single_zone(c.number, region),
        )
        for c in claimed
    ]


def sms_text(campaign: Campaign, claimed: Claimed) -> str:
    """The campaign's smsTemplate filled from the contact's phones and parameters."""
    fields: dict[str, str | None] = {**claimed.phones}
    for i, value in enumerate(claimed.params.values(), start=1):
        fields[f"businessParam{i}"] = value
    fields["numberToCall"] = claimed.number
    return render_sms_template(campaign.sms_template or "", fields)


def dispatch_claimed(
    campaign: Campaign, claim: Claim, now: datetime, dialer: Any, sms: Any
) -> dict[str, int]:
    """Hand the claimed contacts over; whatever the adapter did not take goes back."""
    counts = {"dispatched": 0, "returned": 0}
    voice = [c for c in claim.claimed if c.channel != Channel.SMS]
    texts = [c for c in claim.claimed if c.channel == Channel.SMS]
    if voice:
        requests = dial_requests(campaign, voice)
        name = getattr(dialer, "name", "dialer")
        try:
            dialer.dispatch(requests)
            counts["dispatched"] += len(voice)
            metrics.DISPATCHES.labels(channel="voice").inc(len(voice))
        except DialerUnavailable as exc:
            accepted = set(exc.accepted)
            back = [c.contact_id for c in voice if c.contact_id not in accepted]
            log.warning(
                "feed: dialer unavailable for campaign %s: %s", campaign.id, exc
            )
            counts["dispatched"] += len(voice) - len(back)
            counts["returned"] += return_to_pending(back, now)
            metrics.DISPATCH_FAILURES.labels(dialer=name).inc()
            metrics.DISPATCHES.labels(channel="voice").inc(len(voice) - len(back))
        except Exception:  # noqa: BLE001 - a broken adapter must not strand a batch
            log.exception("feed: dialer failed for campaign %s", campaign.id)
            counts["returned"] += return_to_pending([c.contact_id for c in voice], now)
            metrics.DISPATCH_FAILURES.labels(dialer=name).inc()
    if texts:
        sent: list[int] = []
        try:
            for item in texts:
                sms.send(item.number, sms_text(campaign, item), item.contact_id)
                sent.append(item.contact_id)
        except Exception as exc:  # noqa: BLE001 - DialerUnavailable or a broken gateway
            log.warning(
                "feed: SMS gateway failed for campaign %s: %s", campaign.id, exc
            )
            metrics.DISPATCH_FAILURES.labels(dialer=getattr(sms, "name", "sms")).inc()
        flush = getattr(sms, "flush", None)
        if flush:
            flush()
        collect = getattr(sms, "collect_results", None)
        if collect and not flush:  # webhook: accepted-as-delivered results, kept now
            from portal.services.feed.results import store_results

            store_results(collect(), now)
        counts["dispatched"] += len(sent)
        metrics.DISPATCHES.labels(channel="sms").inc(len(sent))
        done = set(sent)
        counts["returned"] += return_to_pending(
            [c.contact_id for c in texts if c.contact_id not in done], now
        )
    return counts


def return_timed_out(campaigns: list[Campaign], now: datetime) -> int:
    """Dispatched contacts with no result after the response timeout go back to
    pending without using an attempt (the dialer never said it dialed them).

    A contact whose result is already in the inbox has a result (SPEC section 4,
    step 2 takes only those with none): another worker stored it and has not applied
    it yet. Returning it would make that result stale and the contact due at once,
    ahead of the retry delay the result sets (found by the feed state machine with
    three workers).
    """
    default = int(current_app.config.get("ECM_RESPONSE_TIMEOUT", 1800))
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    total = 0
    begin_write()
    for campaign in campaigns:
        cutoff = now - timedelta(seconds=campaign.response_timeout or default)
        result = run(
            "UPDATE contacts SET request_state = :pending, "
            "attempts_made = CASE WHEN attempts_made > 0 THEN attempts_made - 1 "
            "ELSE 0 END, last_status_update_time = :now "
            "WHERE id IN (SELECT id FROM contacts WHERE request_state = 1 "
            "AND campaign_id = :c AND request_time <= :cutoff "
            "AND NOT EXISTS (SELECT 1 FROM call_result_inbox i "
            "WHERE i.contact_id = contacts.id AND i.received_at <= :now)"
            f"{lock})",
            {"pending": PENDING, "now": now, "cutoff": cutoff, "c": campaign.id},
        )
        total += result.rowcount or 0
    db.session.commit()
    return total


def close_unreachable(
    campaigns: list[Campaign], plans: dict[int, StrategyPlan], now: datetime
) -> dict[str, int]:
    """Close pending contacts whose retry expired (4) or attempts are spent (3)."""
    counts = {"expired": 0, "spent": 0}
    begin_write()
    for campaign in campaigns:
        counts["expired"] += (
            run(
                "UPDATE contacts SET request_state = :state, "
                "last_status_update_time = :now WHERE campaign_id = :c "
                "AND request_state = 0 AND expires_at IS NOT NULL "
                "AND expires_at <= :now",
                {"state": EXPIRED, "now": now, "c": campaign.id},
            ).rowcount
            or 0
        )
        plan = plans.get(campaign.strategy_id)
        if plan is not None:
            counts["spent"] += (
                run(
                    "UPDATE contacts SET request_state = :state, "
                    "last_status_update_time = :now WHERE campaign_id = :c "
                    "AND request_state = 0 AND attempts_made >= :m",
                    {
                        "state": MAX_ATTEMPTS,
                        "now": now,
                        "c": campaign.id,
                        "m": plan.max_attempts,
                    },
                ).rowcount
                or 0
            )
    db.session.commit()
    return counts
