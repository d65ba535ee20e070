"""Call results: received into the inbox, then applied by the strategy's retry rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import insert, select, text

from portal import metrics
from portal.extensions import db
from portal.models import (
    CallResultInbox,
    Campaign,
    Contact,
    ContactAttempt,
    User,
    utcnow,
)
from portal.services import callbacks, phones, reports, result_effects
from portal.services.enums import (
    BLOCKED_DNC,
    CALL_RESULTS,
    CISCO_NOT_DIALED,
    COMPLETED,
    DISPATCHED,
    MAX_ATTEMPTS,
    NOT_COUNTED_ALLOWANCE_PER_MAX_ATTEMPT,
    PENDING,
    RESULT_CONNECTED,
    RESULT_ON_DNC,
    RESULT_RETURNED_UNATTEMPTED,
    RESULT_SMS_DELIVERED,
    RETURNED_UNATTEMPTED_DELAY_MINUTES,
    CampaignType,
    Channel,
    result_codes,
)
from portal.services.errors import NotFound, ValidationFailed
from portal.services.feed._sql import (
    begin_write,
    bulk_update,
    id_list_clause,
    is_postgres,
    run,
)
from portal.services.feed.plans import StrategyPlan, load_plans
from portal.services.roles import WRITERS, require
from portal.services.validation import PhoneText, Schema, parse, phone_schema

log = logging.getLogger(__name__)

CLOSING_CODES = frozenset({RESULT_CONNECTED, RESULT_SMS_DELIVERED})
UNKNOWN_CODE_AS = 2  # a dialer code we do not know is recorded as "Error"
APPLY_CHUNK = 5000
RAW_MAX = 255
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


@dataclass(frozen=True)
class Outcome:
    """Where one result leaves a contact: its state and, if retried, the next step."""

    state: int
    call_result: int
    attempt_id: int | None
    attempt_number: int
    channel: int
    dial_time: datetime | None
    expires_at: datetime | None
    why: str
    refund: int = 0  # 1: the dial did not happen, give the attempt back


def decide(
    plan: StrategyPlan,
    attempt_id: int | None,
    attempt_number: int,
    channel: int,
    attempts_made: int,
    code: int,
    now: datetime,
    sms_campaign: bool = False,
    expires: datetime | None = None,
    uncounted: int = 0,
) -> Outcome:
    """Apply SPEC §4 to one result: connected closes, the cap closes, a rule retries.

    Order: 10 and 100 complete the contact whatever the retry map says; then the one
    maxAttempts cap per contact (attempts_made counts dials already made, this one
    included) closes with state 3; then the current attempt's rule for the code moves
    the contact to the named attempt after its delay; with no rule the contact is
    completed with that result. An SMS attempt never moves back to voice; in an SMS
    campaign every attempt is sent as SMS.

    Cisco's CallResults table decides what counts: 25 (returned unattempted) puts
    the contact back to pending on the same attempt, its attempt given back and
    its retry expiry (``expires``) kept; the other codes Cisco does not count as
    an attempt (enums.CISCO_NOT_DIALED) give the attempt back too, within
    ``gives_attempt_back``'s allowance, and then follow the rules above; 26 (on
    the dialer's DNC list) blocks the contact.
    """
    current = plan.attempt_for(attempt_id, attempt_number)
    keep = (attempt_id, attempt_number, channel)

    def close(state: int, why: str, refund: int = 0) -> Outcome:
        return Outcome(state, code, *keep, None, None, why, refund)

    if code == RESULT_RETURNED_UNATTEMPTED:  # never dialed: same attempt, later
        due = now + timedelta(minutes=RETURNED_UNATTEMPTED_DELAY_MINUTES)
        return Outcome(PENDING, code, *keep, due, expires, "not attempted", refund=1)
    refund = 1 if gives_attempt_back(code, uncounted, plan.max_attempts) else 0
    if code == RESULT_ON_DNC:  # Cisco found the number on its DNC list
        return close(BLOCKED_DNC, "on the dialer's DNC list", refund)
    if code in CLOSING_CODES:
        return close(
            COMPLETED, "connected" if code == RESULT_CONNECTED else "delivered"
        )
    if attempts_made - refund >= plan.max_attempts:
        return close(MAX_ATTEMPTS, "max attempts reached", refund)
    rule = current.rules.get(code) if current else None
    if rule is None:
        return close(COMPLETED, "no retry rule for this result", refund)
    return _retry(plan, rule, channel, sms_campaign, now, close, refund)


def gives_attempt_back(code: int, uncounted: int, max_attempts: int) -> bool:
    """Whether a result leaves the contact's attempt count as it was.

    Cisco's "Counted as Attempt? No" codes do not use an attempt while the
    contact has had fewer than NOT_COUNTED_ALLOWANCE_PER_MAX_ATTEMPT x
    maxAttempts of them (``uncounted``, this one not included); after that they
    count, so a number that only ever rings out (8) or gets dead air (28) is
    dialed at most 2 x maxAttempts times, never for ever.
    """
    allowance = NOT_COUNTED_ALLOWANCE_PER_MAX_ATTEMPT * max_attempts
    return code in CISCO_NOT_DIALED and uncounted < allowance


def _retry(plan, rule, channel, sms_campaign, now, close, refund) -> Outcome:  # noqa: ANN001
    """Move the contact to the attempt the rule names, after the rule's delay."""
    target = plan.by_number.get(rule.attempt_number)
    if target is None:
        why = f"retry names missing attempt {rule.attempt_number}"
        return close(COMPLETED, why, refund)
    target_channel = Channel.SMS if sms_campaign else target.channel
    if channel == Channel.SMS and target_channel == Channel.VOICE:
        return close(COMPLETED, "an SMS attempt may not retry into voice", refund)
    due = now + timedelta(minutes=rule.delay)
    expires = now + timedelta(minutes=rule.expiry) if rule.expiry is not None else None
    return Outcome(
        PENDING,
        rule.call_result,
        target.id,
        target.number,
        target_channel,
        due,
        expires,
        "retry",
        refund,
    )


def normalise_code(code: Any) -> tuple[int, str | None]:
    """(code we store, note for the raw column) for a dialer's result code."""
    try:
        value = int(code)
    except (TypeError, ValueError):
        return UNKNOWN_CODE_AS, f"unknown result {code!r}"
    if value not in CALL_RESULTS or value == 0:
        return UNKNOWN_CODE_AS, f"unknown result {value}"
    return value, None


# -- receiving -------------------------------------------------------------------------


class ResultIn(Schema):
    """POST /umm/ecm/callback/result: a contact by id, or by number and campaign."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["id"], "properties": {"id": {"type": "integer"}}},
                {
                    "required": ["numberToCall", "campaignId"],
                    "properties": {
                        "numberToCall": {"type": ["string", "integer"]},
                        "campaignId": {"type": "integer"},
                    },
                },
            ]
        }
    )

    id: int | None = Field(default=None, ge=1, le=MAX_ID)
    numberToCall: PhoneText | None = Field(
        default=None, max_length=64, json_schema_extra=phone_schema
    )
    campaignId: int | None = Field(default=None, ge=1, le=MAX_ID)
    callResult: int = Field(json_schema_extra={"enum": result_codes()})
    raw: str | None = Field(default=None, max_length=RAW_MAX)
    callbackTime: str | None = Field(
        default=None,
        max_length=40,
        description="results 14/15: the customer's requested time (campaign zone, "
        "or ISO 8601 with Z)",
    )

    @field_validator("callResult")
    @classmethod
    def _known(cls, v: int) -> int:
        if v not in CALL_RESULTS or v == 0:
            raise ValueError("is not a known call result code")
        return v


def _find_contact(body: ResultIn) -> Contact:
    if body.id is not None:
        contact = db.session.get(Contact, body.id)
        if contact is None:
            raise NotFound(f"Contact with id {body.id} not found")
        return contact
    if not body.numberToCall or body.campaignId is None:
        raise ValidationFailed({"id": "is required (or numberToCall and campaignId)"})
    if db.session.get(Campaign, body.campaignId) is None:
        raise NotFound(f"Campaign with id {body.campaignId} not found")
    try:
        number = phones.clean_number(body.numberToCall)
    except phones.InvalidNumber as exc:
        raise ValidationFailed({"numberToCall": str(exc)}) from None
    base = select(Contact).where(
        Contact.campaign_id == body.campaignId, Contact.number_to_call == number
    )
    contact = db.session.scalar(
        base.where(Contact.request_state == DISPATCHED)
        .order_by(Contact.request_time.desc(), Contact.id.desc())
        .limit(1)
    ) or db.session.scalar(base.order_by(Contact.id.desc()).limit(1))
    if contact is None:
        raise NotFound(
            f"No contact with numberToCall {number} in campaign {body.campaignId}"
        )
    return contact


def receive_result(actor: User, data: Any, now: datetime | None = None) -> Contact:
    """Queue a result for the next tick; only a dispatched contact takes one."""
    require(actor, WRITERS)
    body = parse(ResultIn, data)
    contact = _find_contact(body)
    if contact.request_state != DISPATCHED:
        raise ValidationFailed(
            {
                "id": f"contact {contact.id} is not dispatched "
                f"(requestState {contact.request_state})"
            },
            "Contact is not awaiting a result",
        )
    zone = db.session.scalar(
        select(Campaign.time_zone).where(Campaign.id == contact.campaign_id)
    )
    try:
        callback_at = callbacks.requested_time(body.callbackTime, zone)
    except ValueError as exc:
        raise ValidationFailed({"callbackTime": str(exc)}) from None
    db.session.add(
        CallResultInbox(
            contact_id=contact.id,
            call_result=body.callResult,
            raw=body.raw,
            received_at=now or utcnow(),
            callback_at=callback_at,
        )
    )
    db.session.commit()
    return contact


def store_results(results: list, now: datetime) -> int:
    """Write DialResults an adapter returned into the inbox, durable before applying."""
    rows = []
    for result in results:
        code, note = normalise_code(result.call_result)
        raw = result.raw if note is None else f"{note}; raw={result.raw}"
        rows.append(
            {
                "contact_id": int(result.contact_id),
                "call_result": code,
                "raw": None if raw is None else str(raw)[:RAW_MAX],
                "received_at": now,
            }
        )
    if rows:
        db.session.execute(insert(CallResultInbox.__table__), rows)
        db.session.commit()
    return len(rows)


# -- applying --------------------------------------------------------------------------

_CONTACT_COLUMNS = (
    "id, campaign_id, request_state, attempt_id, attempt_number, attempts_made, "
    "channel, number_to_call, request_time, expires_at"
)


def apply_inbox(
    now: datetime | None = None, chunk: int = APPLY_CHUNK
) -> dict[str, int]:
    """Apply every inbox result due by now, each chunk of them one transaction."""
    now = now or utcnow()
    totals = {"applied": 0, "stale": 0}
    while True:
        counts = _apply_chunk(now, chunk)
        totals["applied"] += counts["applied"]
        totals["stale"] += counts["stale"]
        if counts["taken"] < chunk or counts["progress"] == 0:
            return totals


@dataclass
class _Loaded:
    """What a chunk reads besides its inbox rows: the contacts and their strategies."""

    contacts: dict[int, Any]  # id -> row, locked for this chunk
    locked: set[int]  # ids that exist but another worker holds right now
    strategies: dict[int, int]  # campaign id -> strategy id
    kinds: dict[int, int]  # campaign id -> campaign type
    plans: dict[int, StrategyPlan]
    uncounted: dict[int, int]  # contact id -> not-dialed results it already has


@dataclass
class _Outcomes:
    """What applying a chunk writes: attempt rows and contact updates, pairwise."""

    done_inbox: list[int] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    stale: int = 0


_CONTACT_UPDATE_TYPES = {
    "id": "bigint",
    "request_state": "integer",
    "call_result": "integer",
    "attempt_id": "integer",
    "attempt_number": "integer",
    "channel": "integer",
    "_due": "timestamp",
    "expires_at": "timestamp",
    "last_status_update_time": "timestamp",
    "callback_at": "timestamp",
    "_refund": "integer",
}
_CONTACT_UPDATE_SET = {
    "dial_time": "COALESCE({_due}, dial_time)",
    "attempts_made": "attempts_made - {_refund}",
}


def _apply_chunk(now: datetime, chunk: int) -> dict[str, int]:
    """One transaction: take due inbox rows, load their contacts, decide, write."""
    begin_write()
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres() else ""
    inbox = _take_inbox(now, chunk, lock)
    if not inbox:
        db.session.commit()
        return {"applied": 0, "stale": 0, "taken": 0, "progress": 0}
    outcomes = compute_outcomes(inbox, _load_contacts(inbox, lock), now)
    _write_outcomes(outcomes, now)
    _count_results(outcomes)
    return {
        "applied": len(outcomes.updates),
        "stale": outcomes.stale,
        "taken": len(inbox),
        "progress": len(outcomes.done_inbox),
    }


def _take_inbox(now: datetime, chunk: int, lock: str) -> list:
    """The oldest inbox rows due by now, locked (other workers take the next ones)."""
    return run(
        "SELECT id, contact_id, call_result, raw, received_at, callback_at "
        "FROM call_result_inbox "
        f"WHERE received_at <= :now ORDER BY id LIMIT :n{lock}",
        {"now": now, "n": chunk},
        datetimes=("received_at", "callback_at"),
    ).all()


def _load_contacts(inbox: list, lock: str) -> _Loaded:
    """Lock the inbox's contacts and read their campaigns' plans."""
    where, params = id_list_clause(sorted({row.contact_id for row in inbox}))
    contacts = {
        row.id: row
        for row in run(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE {where} ORDER BY id{lock}",
            params,
            datetimes=("request_time", "expires_at"),
        )
    }
    strategies: dict[int, int] = {}
    kinds: dict[int, int] = {}
    for cid, strategy_id, kind in db.session.execute(
        select(Campaign.id, Campaign.strategy_id, Campaign.type).where(
            Campaign.id.in_({c.campaign_id for c in contacts.values()})
        )
    ).all():
        strategies[cid], kinds[cid] = strategy_id, kind
    uncounted = _uncounted_results(
        [i.contact_id for i in inbox if i.call_result in CISCO_NOT_DIALED]
    )
    missing = {row.contact_id for row in inbox} - contacts.keys()
    return _Loaded(
        contacts,
        _existing_contacts(missing),
        strategies,
        kinds,
        load_plans(strategies.values()),
        uncounted,
    )


def compute_outcomes(inbox: list, loaded: _Loaded, now: datetime) -> _Outcomes:
    """Decide each inbox result against its contact (pure: no database access).

    A result whose contact another worker holds is left for the next chunk; one for
    an unknown contact, a second one for the same contact, or one for a dispatch
    that is over is stale and discarded."""
    out = _Outcomes()
    seen: set[int] = set()
    for item in inbox:
        contact = loaded.contacts.get(item.contact_id)
        if contact is None and item.contact_id in loaded.locked:
            continue  # locked by another worker right now: leave it for the next chunk
        out.done_inbox.append(item.id)
        plan = (
            None
            if contact is None
            else loaded.plans.get(loaded.strategies.get(contact.campaign_id))
        )
        if plan is None or not _awaits(contact, item, seen):
            out.stale += 1  # unknown, duplicate, or for a dispatch that is over
            continue
        seen.add(contact.id)
        outcome = decide(
            plan,
            contact.attempt_id,
            contact.attempt_number,
            contact.channel,
            contact.attempts_made,
            item.call_result,
            now,
            sms_campaign=loaded.kinds.get(contact.campaign_id) == CampaignType.SMS,
            expires=contact.expires_at,
            uncounted=loaded.uncounted.get(contact.id, 0),
        )
        outcome, callback_at = callbacks.apply_requested(
            outcome, item.call_result, item.callback_at, now
        )
        out.attempts.append(_attempt_row(contact, item, now))
        out.updates.append(_contact_update(contact, outcome, callback_at, now))
    return out


def _awaits(contact: Any, item: Any, seen: set[int]) -> bool:
    """The contact is dispatched, had no result this chunk, and this one is newer."""
    return (
        contact.id not in seen
        and contact.request_state == DISPATCHED
        and (contact.request_time is None or item.received_at >= contact.request_time)
    )


def _attempt_row(contact: Any, item: Any, now: datetime) -> dict[str, Any]:
    return {
        "contact_id": contact.id,
        "campaign_id": contact.campaign_id,
        "strategy_attempt_id": contact.attempt_id,
        "attempt_number": contact.attempt_number,
        "number": contact.number_to_call,
        "channel": contact.channel,
        "call_result": item.call_result,
        "raw_code": item.raw,
        "dialed_at": contact.request_time,
        "result_at": now,
    }


def _contact_update(
    contact: Any, outcome: Outcome, callback_at: datetime | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": contact.id,
        "request_state": outcome.state,
        "call_result": outcome.call_result,
        "attempt_id": outcome.attempt_id,
        "attempt_number": outcome.attempt_number,
        "channel": outcome.channel,
        "_due": outcome.dial_time,
        "expires_at": outcome.expires_at,
        "last_status_update_time": now,
        "callback_at": callback_at,
        "_refund": outcome.refund,
    }


def _write_outcomes(outcomes: _Outcomes, now: datetime) -> None:
    """Attempts, contact updates and the inbox rows taken, in one commit."""
    attempts, updates = outcomes.attempts, outcomes.updates
    result_effects.apply(attempts, updates, now)
    if attempts:
        db.session.execute(insert(ContactAttempt.__table__), attempts)
        reports.count_attempts(attempts)
    bulk_update("contacts", updates, _CONTACT_UPDATE_TYPES, _CONTACT_UPDATE_SET)
    if outcomes.done_inbox:
        where, params = id_list_clause(outcomes.done_inbox)
        db.session.execute(text(f"DELETE FROM call_result_inbox WHERE {where}"), params)
    db.session.commit()


def _count_results(outcomes: _Outcomes) -> None:
    by_code: dict[int, int] = {}
    for row in outcomes.attempts:
        by_code[row["call_result"]] = by_code.get(row["call_result"], 0) + 1
    for code, count in by_code.items():
        metrics.RESULTS.labels(call_result=str(code)).inc(count)
    if outcomes.stale:
        log.info("feed: %d stale or duplicate result(s) discarded", outcomes.stale)


def _uncounted_results(contact_ids: list[int]) -> dict[int, int]:
    """How many not-dialed results (CISCO_NOT_DIALED) each contact already has."""
    if not contact_ids:
        return {}
    where, params = id_list_clause(sorted(set(contact_ids)), column="contact_id")
    codes = ", ".join(str(code) for code in sorted(CISCO_NOT_DIALED))
    rows = db.session.execute(
        text(
            "SELECT contact_id, COUNT(*) FROM contact_attempts "
            f"WHERE {where} AND call_result IN ({codes}) GROUP BY contact_id"
        ),
        params,
    )
    return {int(cid): int(n) for cid, n in rows}


def _existing_contacts(contact_ids: set[int]) -> set[int]:
    """Which of these ids are contacts (read without a lock: held ones too)."""
    if not contact_ids:
        return set()
    where, params = id_list_clause(sorted(contact_ids))
    rows = db.session.execute(text(f"SELECT id FROM contacts WHERE {where}"), params)
    return {int(cid) for (cid,) in rows}
