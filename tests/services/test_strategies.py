"""Strategy rules: unique names, one attempt cap, ordered attempts, retry maps."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditLog, StrategyAttempt
from portal.services import campaigns, strategies
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from portal.services.strategies import RetryRule


@pytest.fixture
def strategy(admin):
    return strategies.create_strategy(admin, {"name": "Standard"})


def add(admin, strategy, name="A", **fields):
    return strategies.create_attempt(
        admin, {"csId": strategy.id, "name": name, **fields}
    )


def order(strategy) -> list[tuple[str, int]]:
    db.session.refresh(strategy)
    return [(a.name, a.attempt_number) for a in strategy.attempts]


def test_create_defaults_to_three_attempts(admin):
    s = strategies.create_strategy(admin, {"name": "TestStrategy"})
    assert (s.name, s.max_attempts, s.attempts) == ("TestStrategy", 3, [])


@pytest.mark.parametrize("value", [0, 101, -1, "many"])
def test_max_attempts_is_1_to_100(admin, value):
    with pytest.raises(ValidationFailed) as exc:
        strategies.create_strategy(admin, {"name": "x", "maxAttempts": value})
    assert "maxAttempts" in exc.value.fields


def test_name_is_required_and_unique_ignoring_case(admin, strategy):
    with pytest.raises(ValidationFailed):
        strategies.create_strategy(admin, {"name": ""})
    with pytest.raises(ValidationFailed) as exc:
        strategies.create_strategy(admin, {"name": "STANDARD"})
    assert exc.value.fields == {"name": "is already used by another strategy"}
    other = strategies.create_strategy(admin, {"name": "Other"})
    with pytest.raises(ValidationFailed):
        strategies.update_strategy_name(admin, {"csId": other.id, "name": "standard"})


@pytest.mark.parametrize("key", ["csId", "id"])
def test_update_name_and_cap_by_cs_id_or_id(admin, strategy, key):
    s = strategies.update_strategy_name(
        admin, {key: strategy.id, "name": "New", "maxAttempts": 5}
    )
    assert (s.name, s.max_attempts) == ("New", 5)
    s = strategies.update_strategy_name(admin, {key: strategy.id, "name": "new"})
    assert (s.name, s.max_attempts) == ("new", 5), (
        "a case change of its own name is fine"
    )


def test_delete_is_refused_while_a_campaign_uses_it(admin, strategy):
    add(admin, strategy)
    campaigns.create_campaign(admin, {"name": "User", "strategyId": strategy.id})
    with pytest.raises(ValidationFailed) as exc:
        strategies.delete_strategy(admin, strategy.id)
    assert "User" in exc.value.fields["id"]


def test_delete_removes_its_attempts(admin, strategy):
    add(admin, strategy)
    add(admin, strategy, "B")
    strategies.delete_strategy(admin, strategy.id)
    assert db.session.scalar(select(func.count()).select_from(StrategyAttempt)) == 0
    with pytest.raises(NotFound):
        strategies.get_strategy(admin, strategy.id)


def test_attempts_append_in_order_by_default(admin, strategy):
    add(admin, strategy, "one")
    add(admin, strategy, "two")
    add(admin, strategy, "three")
    assert order(strategy) == [("one", 1), ("two", 2), ("three", 3)]


def test_an_attempt_number_inserts_and_renumbers(admin, strategy):
    add(admin, strategy, "one")
    add(admin, strategy, "two")
    add(admin, strategy, "first", attemptNumber=1)
    add(admin, strategy, "last", attemptNumber=99)
    assert order(strategy) == [("first", 1), ("one", 2), ("two", 3), ("last", 4)]


@pytest.mark.parametrize(
    ("value", "stored"), [("1", "1"), (5, "5"), ("", "1"), (None, "1")]
)
def test_phone_picks_phone1_to_phone5_and_empty_means_phone1(
    admin, strategy, value, stored
):
    assert add(admin, strategy, phone=value).phone == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "6"),
        ("phone", "0"),
        ("channel", 2),
        ("attemptNumber", 0),
        ("name", ""),
    ],
)
def test_attempt_fields_are_checked(admin, strategy, field, value):
    with pytest.raises(ValidationFailed) as exc:
        add(admin, strategy, **{field: value})
    assert field in exc.value.fields


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"call_result": 1, "attempt_number": 1}, "retryMap.0.call_result"),
        ({"call_result": 0, "attempt_number": 1}, "retryMap.0.call_result"),
        ({"call_result": 8, "attempt_number": 0}, "retryMap.0.attempt_number"),
        ({"call_result": 8, "attempt_number": 1, "delay": -5}, "retryMap.0.delay"),
        ({"call_result": 8, "attempt_number": 1, "expiry": -1}, "retryMap.0.expiry"),
        ({"call_result": 8}, "retryMap.0.attempt_number"),
        ({"call_result": 8, "attempt_number": 1, "extra": 1}, "retryMap.0.extra"),
    ],
)
def test_retry_rules_are_checked(admin, strategy, rule, field):
    with pytest.raises(ValidationFailed) as exc:
        add(admin, strategy, retryMap=[rule])
    assert field in exc.value.fields


def test_a_call_result_appears_once_per_attempt(admin, strategy):
    rules = [
        {"call_result": 9, "attempt_number": 1},
        {"call_result": 9, "attempt_number": 2},
    ]
    with pytest.raises(ValidationFailed) as exc:
        add(admin, strategy, retryMap=rules)
    assert "retryMap" in exc.value.fields


def test_retry_rules_are_stored_and_read_back_typed(admin, strategy):
    a = add(
        admin,
        strategy,
        retryMap=[
            {"call_result": 9, "attempt_number": "2", "delay": 30},
            {"call_result": "8", "attempt_number": 1, "delay": 5, "expiry": 60},
            {"call_result": 101, "attempt_number": 1},
        ],
    )
    assert strategies.retry_rules(a) == [
        RetryRule(call_result=9, attempt_number=2, delay=30, expiry=None),
        RetryRule(call_result=8, attempt_number=1, delay=5, expiry=60),
        RetryRule(call_result=101, attempt_number=1, delay=0, expiry=None),
    ]


def test_an_sms_attempt_cannot_retry_into_voice(admin, strategy):
    add(admin, strategy, "voice", channel=0)
    with pytest.raises(ValidationFailed) as exc:
        add(
            admin,
            strategy,
            "sms",
            channel=1,
            retryMap=[{"call_result": 102, "attempt_number": 1}],
        )
    assert "retryMap" in exc.value.fields
    sms = add(admin, strategy, "sms", channel=1)
    # voice may move to SMS
    voice = strategy.attempts[0]
    strategies.update_attempt(
        admin,
        {
            "id": voice.id,
            "retryMap": [{"call_result": 8, "attempt_number": sms.attempt_number}],
        },
    )
    # rules follow their attempt when attempts move, so a move cannot turn an SMS
    # self-retry into an SMS-to-voice retry
    strategies.update_attempt(
        admin, {"id": sms.id, "retryMap": [{"call_result": 102, "attempt_number": 2}]}
    )
    strategies.update_attempt(admin, {"id": voice.id, "attemptNumber": 2})
    assert [r.attempt_number for r in strategies.retry_rules(sms)] == [
        sms.attempt_number
    ]
    assert [r.attempt_number for r in strategies.retry_rules(voice)] == [1]


@pytest.mark.parametrize("key", ["id", "csAttempt"])
def test_update_attempt_by_id_or_cs_attempt(admin, strategy, key):
    a = add(admin, strategy, "one")
    b = strategies.update_attempt(
        admin, {key: a.id, "name": "renamed", "phone": "3", "channel": 1}
    )
    assert (b.id, b.name, b.phone, b.channel) == (a.id, "renamed", "3", 1)


def test_update_attempt_needs_an_id_and_a_matching_strategy(admin, strategy):
    a = add(admin, strategy)
    other = strategies.create_strategy(admin, {"name": "Other"})
    with pytest.raises(ValidationFailed) as exc:
        strategies.update_attempt(admin, {"name": "x"})
    assert "id" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        strategies.update_attempt(admin, {"id": a.id, "csId": other.id})
    assert "csId" in exc.value.fields
    with pytest.raises(NotFound):
        strategies.update_attempt(admin, {"csAttempt": 999})


def test_update_attempt_keeps_what_is_not_sent_and_may_clear_the_retry_map(
    admin, strategy
):
    a = add(
        admin,
        strategy,
        "one",
        phone="2",
        retryMap=[{"call_result": 8, "attempt_number": 1}],
    )
    strategies.update_attempt(admin, {"id": a.id, "name": "renamed"})
    assert (a.phone, len(a.retry_map)) == ("2", 1)
    strategies.update_attempt(admin, {"id": a.id, "retryMap": []})
    assert a.retry_map == []


def test_update_attempt_moves_it(admin, strategy):
    for name in ("one", "two", "three"):
        add(admin, strategy, name)
    three = strategy.attempts[2]
    strategies.update_attempt(admin, {"id": three.id, "attemptNumber": 1})
    assert order(strategy) == [("three", 1), ("one", 2), ("two", 3)]


def test_delete_attempt_renumbers(admin, strategy):
    for name in ("one", "two", "three"):
        add(admin, strategy, name)
    strategies.delete_attempt(admin, strategy.attempts[0].id)
    assert order(strategy) == [("two", 1), ("three", 2)]
    with pytest.raises(NotFound):
        strategies.delete_attempt(admin, 999)


@pytest.mark.parametrize("shape", ["seed", "list", "string", "data", "id-key"])
def test_update_order_shapes(admin, strategy, shape):
    import json

    a, b, c = (add(admin, strategy, n) for n in ("a", "b", "c"))
    items = [
        {"atId": c.id, "index": 1},
        {"atId": a.id, "index": 2},
        {"atId": b.id, "index": 3},
    ]
    payload = {
        "seed": {"idIndexJson": {"data": items}},
        "list": items,
        "string": {"idIndexJson": json.dumps(items)},
        "data": {"data": items},
        "id-key": [{"id": i["atId"], "index": i["index"]} for i in items],
    }[shape]
    strategies.update_order(admin, payload)
    assert order(strategy) == [("c", 1), ("a", 2), ("b", 3)]


def test_update_order_of_some_attempts_moves_only_those(admin, strategy):
    a, b, c = (add(admin, strategy, n) for n in ("a", "b", "c"))
    strategies.update_order(admin, [{"atId": c.id, "index": 1}])
    assert order(strategy) == [("c", 1), ("a", 2), ("b", 3)]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"idIndexJson": []},
        {"idIndexJson": "not json"},
        [1],
        [{"index": 1}],
        [{"atId": 1, "index": "x"}],
        [{"atId": 1, "index": 1, "extra": True}],
        {"idIndexJson": {"data": {"atId": 1}}},
    ],
)
def test_update_order_refuses_bad_shapes(admin, strategy, payload):
    add(admin, strategy)
    with pytest.raises(ValidationFailed):
        strategies.update_order(admin, payload)


def test_update_order_refuses_attempts_of_two_strategies(admin, strategy):
    a = add(admin, strategy)
    other = strategies.create_strategy(admin, {"name": "Other"})
    b = add(admin, other)
    with pytest.raises(ValidationFailed) as exc:
        strategies.update_order(
            admin, [{"atId": a.id, "index": 1}, {"atId": b.id, "index": 2}]
        )
    assert "different strategies" in exc.value.fields["idIndexJson"]


def test_audit_rows(admin, strategy):
    a = add(admin, strategy, retryMap=[{"call_result": 8, "attempt_number": 1}])
    strategies.update_attempt(admin, {"id": a.id, "name": "renamed"})
    strategies.update_strategy_name(admin, {"csId": strategy.id, "name": "Renamed"})
    strategies.delete_attempt(admin, a.id)
    strategies.delete_strategy(admin, strategy.id)
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    trail = [(r.entity, r.action) for r in rows if r.entity != "user"]
    assert trail == [
        ("strategy", "create"),
        ("strategy_attempt", "create"),
        ("strategy_attempt", "update"),
        ("strategy", "update"),
        ("strategy_attempt", "delete"),
        ("strategy", "delete"),
    ]
    update = next(
        r for r in rows if (r.entity, r.action) == ("strategy_attempt", "update")
    )
    assert update.changes == {"name": ["A", "renamed"]}


def test_roles(admin, strategy, viewer, supervisor):
    assert strategies.list_strategies(viewer) == [strategy]
    for call, data in (
        (strategies.create_strategy, {"name": "v"}),
        (strategies.create_attempt, {"csId": strategy.id}),
        (strategies.update_strategy_name, {"csId": strategy.id, "name": "v"}),
        (strategies.update_order, [{"atId": 1, "index": 1}]),
    ):
        with pytest.raises(Forbidden):
            call(viewer, data)
    with pytest.raises(Forbidden):
        strategies.delete_strategy(viewer, strategy.id)
    assert add(supervisor, strategy).name == "A"
