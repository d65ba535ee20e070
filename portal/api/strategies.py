"""/umm/ecm/callStrategy and /umm/ecm/callStrategyAttempt."""

from __future__ import annotations

from flask import jsonify, request

from portal.api import serializers
from portal.api.core import (
    actor,
    body,
    endpoint,
    id_param,
    listing,
    paging,
    paging_params,
    target_id,
)
from portal.services import strategies
from portal.services.errors import ValidationFailed

RETRY = {"type": "object", "required": ["attempt_number", "delay", "call_result"]}
ATTEMPT = {
    "type": "object",
    "required": ["id", "csId", "name", "phone", "channel", "attemptNumber", "retryMap"],
    "properties": {
        "id": {"type": "integer"},
        "csId": {"type": "integer"},
        "name": {"type": "string"},
        "phone": {"type": "string"},
        "channel": {"type": "integer"},
        "attemptNumber": {"type": "integer"},
        "retryMap": {"type": "array", "items": RETRY},
    },
}
STRATEGY = {
    "type": "object",
    "required": ["id", "name", "maxAttempts", "callAttempts"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "maxAttempts": {"type": "integer"},
        "callAttempts": {"type": "array", "items": {"type": "object"}},
    },
}
MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}}
ID_PARAM = id_param()


@endpoint(
    "/ecm/callStrategy",
    ["GET"],
    "List strategies with their attempts",
    "strategy",
    response={"type": "array", "items": STRATEGY},
    params=paging_params(),
    reads_only=True,
)
def list_strategies():
    offset, size = paging()
    items = strategies.list_strategies(actor())
    return listing(
        [serializers.strategy(s) for s in items[offset : offset + size]], len(items)
    )


@endpoint(
    "/ecm/callStrategy/save",
    ["POST"],
    "Create a strategy",
    "strategy",
    body=strategies.StrategyIn,
    response=STRATEGY,
)
def save_strategy():
    return jsonify(serializers.strategy(strategies.create_strategy(actor(), body())))


@endpoint(
    "/ecm/callStrategy/updateName",
    ["POST", "PUT"],
    "Rename a strategy (and set maxAttempts)",
    "strategy",
    body=strategies.StrategyNameIn,
    response=STRATEGY,
)
def update_strategy_name():
    return jsonify(
        serializers.strategy(strategies.update_strategy_name(actor(), body()))
    )


@endpoint(
    "/ecm/callStrategy/delete",
    ["POST", "DELETE"],
    "Delete a strategy no campaign uses",
    "strategy",
    response=MESSAGE,
    params=ID_PARAM,
)
def delete_strategy():
    sid = target_id()
    strategies.delete_strategy(actor(), sid)
    return jsonify({"message": f"Strategy with id {sid} successfully deleted"})


@endpoint(
    "/ecm/callStrategyAttempt",
    ["GET"],
    "A strategy's attempts (?csId=N)",
    "strategy",
    response={"type": "array", "items": ATTEMPT},
    params=[
        {"name": "csId", "in": "query", "required": True, "schema": {"type": "integer"}}
    ],
    reads_only=True,
)
def list_attempts():
    cs_id = request.args.get("csId")
    if cs_id is None:
        payload = body()
        cs_id = payload.get("csId") if isinstance(payload, dict) else None
    if cs_id is None:
        raise ValidationFailed({"csId": "is required"})
    items = strategies.list_attempts(actor(), cs_id)
    return listing([serializers.attempt(a) for a in items], len(items))


@endpoint(
    "/ecm/callStrategyAttempt/save",
    ["POST"],
    "Add an attempt to a strategy",
    "strategy",
    body=strategies.AttemptIn,
    response=ATTEMPT,
)
def save_attempt():
    return jsonify(serializers.attempt(strategies.create_attempt(actor(), body())))


@endpoint(
    "/ecm/callStrategyAttempt/update",
    ["POST", "PUT"],
    "Update an attempt (by id, or csAttempt)",
    "strategy",
    body=strategies.AttemptUpdateIn,
    response=ATTEMPT,
)
def update_attempt():
    attempt = strategies.update_attempt(actor(), body())
    return jsonify({**serializers.attempt(attempt), "csAttempt": attempt.id})


@endpoint(
    "/ecm/callStrategyAttempt/delete",
    ["POST", "DELETE"],
    "Delete an attempt",
    "strategy",
    response=MESSAGE,
    params=ID_PARAM,
)
def delete_attempt():
    aid = target_id()
    strategies.delete_attempt(actor(), aid)
    return jsonify({"message": f"Strategy attempt with id {aid} successfully deleted"})


@endpoint(
    "/ecm/callStrategyAttempt/updateOrder",
    ["POST", "PUT"],
    "Reorder a strategy's attempts",
    "strategy",
    body=strategies.OrderIn,
    response=STRATEGY,
)
def update_order():
    return jsonify(serializers.strategy(strategies.update_order(actor(), body())))
