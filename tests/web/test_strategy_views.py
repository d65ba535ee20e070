"""The strategy editor: attempts added, edited, reordered, removed; retry-map rows."""

from __future__ import annotations

from tests.web.conftest import text


def _attempts(app, strategy_id):
    from portal.extensions import db
    from portal.models import CallStrategy

    with app.app_context():
        strategy = db.session.get(CallStrategy, strategy_id)
        return [
            (a.id, a.attempt_number, a.name, a.phone, a.channel, a.retry_map)
            for a in strategy.attempts
        ]


def _rule_rows(*rows):
    data = []
    for result, attempt, delay, expiry in rows:
        data += [
            ("rule_result", result),
            ("rule_attempt", attempt),
            ("rule_delay", delay),
            ("rule_expiry", expiry),
        ]
    return data


def test_create_strategy_redirects_htmx_to_the_editor(app, web_admin):
    response = web_admin.post(
        "/strategies", {"name": "Persistent", "maxAttempts": "4"}, htmx=True
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/strategies/")
    editor = web_admin.get(response.headers["HX-Redirect"])
    assert "Persistent" in text(editor) and "Add an attempt" in text(editor)


def test_create_strategy_errors_swap_the_form(web_admin, seed):
    response = web_admin.post(
        "/strategies", {"name": "base STRATEGY", "maxAttempts": "0"}, htmx=True
    )
    assert response.status_code == 422
    body = text(response)
    assert "<html" not in body and 'id="strategy-create"' in body
    assert "already used" in body or "greater than or equal" in body


def test_rename_and_max_attempts(app, web_admin, seed):
    sid = seed["strategy"]
    response = web_admin.post(
        f"/strategies/{sid}", {"name": "Renamed", "maxAttempts": "7"}, htmx=True
    )
    assert response.status_code == 200 and 'id="strategy-settings"' in text(response)
    from portal.extensions import db
    from portal.models import CallStrategy

    with app.app_context():
        strategy = db.session.get(CallStrategy, sid)
        assert (strategy.name, strategy.max_attempts) == ("Renamed", 7)


def test_attempts_with_retry_rows_reorder_and_remove(app, web_admin, seed):
    sid = seed["strategy"]
    ((first_id, *_),) = _attempts(app, sid)
    response = web_admin.post(
        f"/strategies/{sid}/attempts",
        [("name", "SMS follow-up"), ("phone", "2"), ("channel", "1")]
        + _rule_rows(("", "1", "", "")),
        htmx=True,
    )
    assert response.status_code == 200, text(response)
    assert 'id="attempts"' in text(response) and "SMS follow-up" in text(response)

    rules = _rule_rows(("8", "2", "30", "1440"), ("9", "1", "", ""), ("", "1", "5", ""))
    response = web_admin.post(
        f"/strategies/{sid}/attempts/{first_id}",
        [("name", "Call"), ("phone", "1"), ("channel", "0")] + rules,
        htmx=True,
    )
    assert response.status_code == 200, text(response)
    attempts = _attempts(app, sid)
    assert attempts[0][5] == [
        {"call_result": 8, "attempt_number": 2, "delay": 30, "expiry": 1440},
        {"call_result": 9, "attempt_number": 1, "delay": 0},
    ]
    second_id = attempts[1][0]

    response = web_admin.post(
        f"/strategies/{sid}/attempts/{second_id}/move", {"direction": "up"}, htmx=True
    )
    assert response.status_code == 200
    assert [a[0] for a in _attempts(app, sid)] == [second_id, first_id]
    response = web_admin.post(
        f"/strategies/{sid}/attempts/{second_id}/move", {"direction": "up"}, htmx=True
    )
    assert [a[0] for a in _attempts(app, sid)] == [second_id, first_id], (
        "the first stays first"
    )

    response = web_admin.post(
        f"/strategies/{sid}/attempts/{second_id}/delete", htmx=True
    )
    assert response.status_code == 200
    assert [(a[0], a[1]) for a in _attempts(app, sid)] == [(first_id, 1)]


def test_bad_retry_row_comes_back_with_its_error(app, web_admin, seed):
    sid = seed["strategy"]
    ((first_id, *_),) = _attempts(app, sid)
    response = web_admin.post(
        f"/strategies/{sid}/attempts/{first_id}",
        [("name", "Call"), ("phone", "1"), ("channel", "0")]
        + _rule_rows(("8", "1", "-5", ""), ("8", "1", "1", "")),
        htmx=True,
    )
    assert response.status_code == 422
    body = text(response)
    assert "<html" not in body and 'id="attempts"' in body
    assert "more than once" in body or "greater than or equal" in body
    assert 'value="-5"' in body, "the submitted rows come back"
    assert _attempts(app, sid)[0][5] == []


def test_rule_row_fragment_offers_result_names(web_admin, seed):
    sid = seed["strategy"]
    row = text(web_admin.get(f"/strategies/{sid}/rule-row?new=1", htmx=True))
    assert (
        row.lstrip().startswith("<tr")
        and "No answer" in row
        and "this new attempt" in row
    )
    assert web_admin.get(f"/strategies/{sid}/rule-row").status_code == 302


def test_strategy_in_use_cannot_be_deleted(web_admin, seed):
    response = web_admin.post(f"/strategies/{seed['strategy']}/delete", htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#messages"
    assert "Base campaign" in text(response)


def test_viewer_sees_the_retry_map_read_only(web_viewer, seed):
    body = text(web_viewer.get(f"/strategies/{seed['strategy']}"))
    assert (
        "Add an attempt" not in body
        and "Save attempt" not in body
        and "Save strategy" not in body
    )
    assert "No retry rules" in body
