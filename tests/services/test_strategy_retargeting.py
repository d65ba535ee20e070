"""Retry rules keep pointing at the same attempt when attempts move or go."""

from portal.services import strategies


def _setup(admin):
    s = strategies.create_strategy(admin, {"name": "Retarget", "maxAttempts": 5})
    first = strategies.create_attempt(
        admin,
        {
            "csId": s.id,
            "name": "Mobile",
            "retryMap": [
                {"call_result": 8, "attempt_number": 2, "delay": 5},
                {"call_result": 9, "attempt_number": 3, "delay": 1},
            ],
        },
    )
    second = strategies.create_attempt(
        admin, {"csId": s.id, "name": "Home", "phone": "2"}
    )
    third = strategies.create_attempt(
        admin,
        {
            "csId": s.id,
            "name": "Work",
            "phone": "3",
            "retryMap": [
                {"call_result": 8, "attempt_number": 1, "delay": 30},
            ],
        },
    )
    return s, first, second, third


def _targets(attempt):
    return {r.call_result: r.attempt_number for r in strategies.retry_rules(attempt)}


def test_forward_reference_written_before_its_target_exists_is_kept(admin):
    s, first, second, third = _setup(admin)
    assert _targets(first) == {8: second.attempt_number, 9: third.attempt_number}


def test_reorder_keeps_rules_on_the_same_attempts(admin):
    s, first, second, third = _setup(admin)
    strategies.update_order(
        admin,
        {
            "idIndexJson": {
                "data": [
                    {"atId": third.id, "index": 1},
                    {"atId": first.id, "index": 2},
                    {"atId": second.id, "index": 3},
                ]
            }
        },
    )
    assert [a.id for a in s.attempts] == [third.id, first.id, second.id]
    assert (
        _targets(first)
        == {8: second.attempt_number, 9: third.attempt_number}
        == {8: 3, 9: 1}
    )
    assert _targets(third) == {8: first.attempt_number} == {8: 2}


def test_moving_one_attempt_by_update_retargets_the_others(admin):
    s, first, second, third = _setup(admin)
    strategies.update_attempt(admin, {"id": second.id, "attemptNumber": 1})
    assert _targets(first) == {8: 1, 9: 3}
    assert _targets(third) == {8: 2}


def test_deleting_an_attempt_drops_rules_that_pointed_at_it(admin):
    s, first, second, third = _setup(admin)
    strategies.delete_attempt(admin, second.id)
    assert [a.attempt_number for a in s.attempts] == [1, 2]
    assert _targets(first) == {9: 2}
    assert _targets(third) == {8: 1}
