"""Call strategies: ordered attempts, each with its retry map, and one attempt cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CallStrategy, Campaign, StrategyAttempt, User
from portal.models._base import name_key
from portal.services import audit
from portal.services.enums import CALL_RESULTS, CHANNELS, Channel, result_codes
from portal.services.errors import NotFound, ServiceError, ValidationFailed
from portal.services.roles import READERS, WRITERS, require
from portal.services.validation import MAX_TEXT, Schema, as_int, parse

MAX_ATTEMPTS_LIMIT = 100


@dataclass(frozen=True)
class RetryRule:
    """If a dial ends with call_result, go to attempt_number after delay minutes."""

    call_result: int
    attempt_number: int
    delay: int
    expiry: int | None = None


class RetryRuleIn(Schema):
    call_result: int = Field(json_schema_extra={"enum": result_codes()})
    attempt_number: int = Field(ge=1, le=MAX_ATTEMPTS_LIMIT)
    delay: int = Field(default=0, ge=0, le=525_600)
    expiry: int | None = Field(default=None, ge=0, le=5_256_000)

    @field_validator("call_result")
    @classmethod
    def _known_code(cls, v: int) -> int:
        if v not in CALL_RESULTS or v == 0:
            raise ValueError("is not a known call result code")
        return v


class StrategyIn(Schema):
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    maxAttempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS_LIMIT)


class StrategyNameIn(Schema):
    csId: int
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    maxAttempts: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS_LIMIT)


PHONE_CHOICES = ["1", "2", "3", "4", "5"]


def _phone_schema(schema: dict) -> None:
    """AttemptIn._phone: 1 to 5 as text or a number; empty means 1."""
    choice = {"enum": [*PHONE_CHOICES, "", *map(int, PHONE_CHOICES)]}
    if "anyOf" in schema:
        schema["anyOf"] = [choice, {"type": "null"}]
    else:
        schema.pop("type", None)
        schema.update(choice)


class AttemptIn(Schema):
    csId: int
    name: str = Field(default="Attempt", min_length=1, max_length=MAX_TEXT)
    phone: str = Field(default="1", json_schema_extra=lambda s: _phone_schema(s))
    channel: int = Field(default=0, json_schema_extra={"enum": sorted(CHANNELS)})
    attemptNumber: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS_LIMIT)
    # one rule per call_result: uniqueItems states it for identical rules; two rules
    # for one code with different delays are refused too (no JSON Schema keyword)
    retryMap: list[RetryRuleIn] = Field(
        default_factory=list, max_length=200, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, v: Any) -> str:
        text = "1" if v in (None, "") else str(v).strip()
        if text not in {"1", "2", "3", "4", "5"}:
            raise ValueError("must be 1-5 (which of phone1..phone5 to dial)")
        return text

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: int) -> int:
        if v not in CHANNELS:
            raise ValueError("must be 0 (voice) or 1 (SMS)")
        return v

    @field_validator("retryMap")
    @classmethod
    def _unique_codes(cls, rules: list[RetryRuleIn]) -> list[RetryRuleIn]:
        codes = [r.call_result for r in rules]
        if len(codes) != len(set(codes)):
            raise ValueError("names a call_result more than once")
        return rules


class AttemptUpdateIn(AttemptIn):
    """An attempt named by `id`, or by `csAttempt` when `id` is absent."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["id"], "properties": {"id": {"type": "integer"}}},
                {
                    "required": ["csAttempt"],
                    "properties": {"csAttempt": {"type": "integer"}},
                },
            ]
        }
    )
    id: int | None = None
    csAttempt: int | None = None
    csId: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    phone: str | None = Field(default=None, json_schema_extra=_phone_schema)
    channel: int | None = Field(
        default=None, json_schema_extra={"enum": [*sorted(CHANNELS), None]}
    )

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, v: Any) -> str | None:
        return None if v is None else AttemptIn._phone(v)

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: int | None) -> int | None:
        return None if v is None else AttemptIn._channel(v)


def retry_rules(attempt: StrategyAttempt) -> list[RetryRule]:
    """The attempt's retry map as typed rules (stored as JSON rows)."""
    rules = []
    for row in attempt.retry_map or []:
        rules.append(
            RetryRule(
                call_result=int(row["call_result"]),
                attempt_number=int(row["attempt_number"]),
                delay=int(row.get("delay") or 0),
                expiry=None if row.get("expiry") is None else int(row["expiry"]),
            )
        )
    return rules


def _rules_json(rules: list[RetryRuleIn]) -> list[dict]:
    rows = []
    for r in rules:
        row = {
            "call_result": r.call_result,
            "attempt_number": r.attempt_number,
            "delay": r.delay,
        }
        if r.expiry is not None:
            row["expiry"] = r.expiry
        rows.append(row)
    return rows


def list_strategies(actor: User) -> list[CallStrategy]:
    require(actor, READERS)
    return list(db.session.scalars(select(CallStrategy).order_by(CallStrategy.id)))


def get_strategy(actor: User, strategy_id: Any) -> CallStrategy:
    require(actor, READERS)
    sid = as_int(strategy_id, "id")
    strategy = db.session.get(CallStrategy, sid)
    if strategy is None:
        raise NotFound(f"Strategy with id {sid} not found")
    return strategy


def _name_taken(name: str, exclude: int | None = None) -> bool:
    query = select(func.count()).where(CallStrategy.name_key == name_key(name))
    if exclude is not None:
        query = query.where(CallStrategy.id != exclude)
    return db.session.scalar(query) > 0


def create_strategy(actor: User, data: dict) -> CallStrategy:
    require(actor, WRITERS)
    body = parse(StrategyIn, data)
    if _name_taken(body.name):
        raise ValidationFailed({"name": "is already used by another strategy"})
    strategy = CallStrategy(name=body.name, max_attempts=body.maxAttempts)
    db.session.add(strategy)
    db.session.flush()
    audit.record(
        actor,
        "create",
        "strategy",
        strategy.id,
        {"name": body.name, "maxAttempts": body.maxAttempts},
    )
    db.session.commit()
    return strategy


def update_strategy_name(actor: User, data: dict) -> CallStrategy:
    require(actor, WRITERS)
    data = dict(data) if isinstance(data, dict) else data
    if isinstance(data, dict) and "csId" not in data and "id" in data:
        data["csId"] = data.pop("id")
    body = parse(StrategyNameIn, data)
    strategy = get_strategy(actor, body.csId)
    if _name_taken(body.name, exclude=strategy.id):
        raise ValidationFailed({"name": "is already used by another strategy"})
    values: dict[str, Any] = {"name": body.name}
    if body.maxAttempts is not None:
        values["max_attempts"] = body.maxAttempts
    changes = audit.diff(strategy, values)
    if changes:
        audit.record(actor, "update", "strategy", strategy.id, changes)
    db.session.commit()
    return strategy


def delete_strategy(actor: User, strategy_id: Any) -> None:
    require(actor, WRITERS)
    strategy = get_strategy(actor, strategy_id)
    users = db.session.scalars(
        select(Campaign.name).where(Campaign.strategy_id == strategy.id).limit(5)
    ).all()
    if users:
        raise ValidationFailed(
            {"id": f"is used by campaign(s): {', '.join(users)}"},
            "Strategy is in use",
        )
    audit.record(actor, "delete", "strategy", strategy.id, {"name": strategy.name})
    db.session.delete(strategy)
    db.session.commit()


def list_attempts(actor: User, strategy_id: Any) -> list[StrategyAttempt]:
    strategy = get_strategy(actor, strategy_id)
    return list(strategy.attempts)


def get_attempt(actor: User, attempt_id: Any, field: str = "id") -> StrategyAttempt:
    require(actor, READERS)
    aid = as_int(attempt_id, field)
    attempt = db.session.get(StrategyAttempt, aid)
    if attempt is None:
        raise NotFound(f"Strategy attempt with id {aid} not found")
    return attempt


def _renumber(
    strategy: CallStrategy,
    ordered: list[StrategyAttempt],
    *,
    fresh: StrategyAttempt | None = None,
    removed: StrategyAttempt | None = None,
) -> None:
    """Number attempts 1..n and keep every retry rule pointing at the same attempt.

    Rules name their target by position, so a move would silently retarget them;
    rules that pointed at a removed attempt are dropped. `fresh` holds rules the
    caller just wrote in the final numbering; forward references stay as written.
    """
    by_old_number = {a.attempt_number: a for a in ordered if a is not fresh}
    if removed is not None:
        by_old_number[removed.attempt_number] = removed
    for index, attempt in enumerate(ordered, start=1):
        attempt.attempt_number = index
    for attempt in ordered:
        if attempt is fresh or not attempt.retry_map:
            continue
        rows = []
        for row in attempt.retry_map:
            target = by_old_number.get(int(row["attempt_number"]))
            if removed is not None and target is removed:
                continue
            if target is not None:
                row = {**row, "attempt_number": target.attempt_number}
            rows.append(row)
        if rows != attempt.retry_map:
            attempt.retry_map = rows
    strategy.attempts.sort(key=lambda a: a.attempt_number)


def _check_channel_moves(
    strategy: CallStrategy, ordered: list[StrategyAttempt]
) -> None:
    """Voice may move to SMS but an SMS attempt may not retry into voice (as ECM)."""
    by_number = {a.attempt_number: a for a in ordered}
    for attempt in ordered:
        for rule in retry_rules(attempt):
            target = by_number.get(rule.attempt_number)
            if (
                target is not None
                and attempt.channel == Channel.SMS
                and target.channel == Channel.VOICE
            ):
                raise ValidationFailed(
                    {
                        "retryMap": f"attempt {attempt.attempt_number} is SMS and "
                        "cannot retry into voice attempt "
                        f"{target.attempt_number}"
                    }
                )


@contextmanager
def _all_or_nothing() -> Iterator[None]:
    """Undo the session's changes when a rule checked after applying them refuses."""
    try:
        yield
    except ServiceError:
        db.session.rollback()
        raise


def create_attempt(actor: User, data: dict) -> StrategyAttempt:
    require(actor, WRITERS)
    body = parse(AttemptIn, data)
    strategy = get_strategy(actor, body.csId)
    ordered = list(strategy.attempts)
    position = body.attemptNumber or len(ordered) + 1
    position = min(position, len(ordered) + 1)
    with _all_or_nothing():
        attempt = StrategyAttempt(
            strategy=strategy,
            name=body.name,
            phone=body.phone,
            channel=body.channel,
            retry_map=_rules_json(body.retryMap),
        )
        if attempt in strategy.attempts:
            strategy.attempts.remove(attempt)
        ordered.insert(position - 1, attempt)
        _renumber(strategy, ordered, fresh=attempt)
        strategy.attempts[:] = ordered
        _check_channel_moves(strategy, ordered)
    db.session.flush()
    audit.record(
        actor,
        "create",
        "strategy_attempt",
        attempt.id,
        {
            "csId": strategy.id,
            "name": attempt.name,
            "attemptNumber": attempt.attempt_number,
            "retryMap": attempt.retry_map,
        },
    )
    db.session.commit()
    return attempt


def update_attempt(actor: User, data: dict) -> StrategyAttempt:
    require(actor, WRITERS)
    body = parse(AttemptUpdateIn, data)
    if body.id is not None:
        attempt = get_attempt(actor, body.id)
    elif body.csAttempt is not None:
        attempt = get_attempt(actor, body.csAttempt, "csAttempt")
    else:
        raise ValidationFailed({"id": "is required (or csAttempt)"})
    strategy = attempt.strategy
    if body.csId is not None and body.csId != strategy.id:
        raise ValidationFailed({"csId": "does not match the attempt's strategy"})
    values: dict[str, Any] = {}
    if body.name is not None:
        values["name"] = body.name
    if body.phone is not None:
        values["phone"] = body.phone
    if body.channel is not None:
        values["channel"] = body.channel
    if "retryMap" in body.model_fields_set:
        values["retry_map"] = _rules_json(body.retryMap)
    with _all_or_nothing():
        changes = audit.diff(attempt, values)
        ordered = list(strategy.attempts)
        if (
            body.attemptNumber is not None
            and body.attemptNumber != attempt.attempt_number
        ):
            ordered.remove(attempt)
            ordered.insert(min(body.attemptNumber, len(ordered) + 1) - 1, attempt)
            old = attempt.attempt_number
            rules_given = "retryMap" in body.model_fields_set
            _renumber(strategy, ordered, fresh=attempt if rules_given else None)
            changes["attemptNumber"] = [old, attempt.attempt_number]
        _check_channel_moves(strategy, ordered)
    if changes:
        audit.record(actor, "update", "strategy_attempt", attempt.id, changes)
    db.session.commit()
    return attempt


def delete_attempt(actor: User, attempt_id: Any) -> None:
    require(actor, WRITERS)
    attempt = get_attempt(actor, attempt_id)
    strategy = attempt.strategy
    ordered = [a for a in strategy.attempts if a.id != attempt.id]
    audit.record(
        actor,
        "delete",
        "strategy_attempt",
        attempt.id,
        {"csId": strategy.id, "name": attempt.name},
    )
    strategy.attempts.remove(attempt)
    _renumber(strategy, ordered, removed=attempt)
    db.session.commit()


class OrderItem(Schema):
    atId: int = Field(ge=1)
    index: int


class OrderIn(Schema):
    """The documented form of updateOrder's body (`_order_items` also reads the
    seed's other shapes: a JSON string, a bare list, {"data": [...]})."""

    idIndexJson: list[OrderItem] = Field(min_length=1, max_length=1000)


def _order_items(data: Any) -> list:
    """Accept the seed's idIndexJson in the shapes integrations actually send."""
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"idIndexJson", "data"})
        if unknown:
            raise ValidationFailed({unknown[0]: "unknown field"})
    if isinstance(data, dict) and "idIndexJson" in data:
        data = data["idIndexJson"]
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise ValidationFailed({"idIndexJson": "is not valid JSON"}) from None
    if isinstance(data, dict) and "data" in data:
        data = data["data"]
    if not isinstance(data, list) or not data:
        raise ValidationFailed({"idIndexJson": "must list {atId, index} items"})
    return data


def update_order(actor: User, data: Any) -> CallStrategy:
    """Reorder a strategy's attempts; positions are renumbered 1..n."""
    require(actor, WRITERS)
    items = _order_items(data)
    if len(items) > 1000:
        raise ValidationFailed({"idIndexJson": "has too many items"})
    positions: dict[int, int] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed({f"idIndexJson.{n}": "must be an object"})
        unknown = set(item) - {"atId", "index", "id"}
        if unknown:
            raise ValidationFailed(
                {f"idIndexJson.{n}.{sorted(unknown)[0]}": "unknown field"}
            )
        at_id = as_int(item.get("atId", item.get("id")), f"idIndexJson.{n}.atId")
        positions[at_id] = as_int(item.get("index"), f"idIndexJson.{n}.index")
    attempts = [get_attempt(actor, at_id, "atId") for at_id in positions]
    strategies = {a.strategy_id for a in attempts}
    if len(strategies) != 1:
        raise ValidationFailed(
            {"idIndexJson": "attempts belong to different strategies"}
        )
    strategy = attempts[0].strategy
    moved = {a.id for a in attempts}
    rest = [a for a in strategy.attempts if a.id not in moved]
    ordered = sorted(attempts, key=lambda a: (positions[a.id], a.attempt_number))
    for attempt in ordered:
        rest.insert(min(max(positions[attempt.id], 1), len(rest) + 1) - 1, attempt)
    before = [a.id for a in strategy.attempts]
    with _all_or_nothing():
        _renumber(strategy, rest)
        strategy.attempts[:] = rest
        _check_channel_moves(strategy, rest)
    audit.record(
        actor,
        "update",
        "strategy",
        strategy.id,
        {"order": [before, [a.id for a in rest]]},
    )
    db.session.commit()
    return strategy
