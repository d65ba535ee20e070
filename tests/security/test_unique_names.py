"""Unique names: one rule on both databases, and a race answers 406, never 503.

Reproduced (issue 17, finding 9): a strategy or campaign whose non-ASCII name differs
only in case from an existing one (SQLite's lower() folds ASCII only), or the same
name created twice at once, answered 503 "database unavailable".
"""

from __future__ import annotations

import threading

import pytest

from tests.conftest import login_token
from tests.security.builders import as_admin, new_strategy

# (stored, then tried): equal once NFKC-normalised and case-folded
VARIANTS = [
    ("Ürün kampanya", "ÜRÜN KAMPANYA"),
    ("Straße Nord", "STRASSE NORD"),
    ("Ελλάδα", "ΕΛΛΆΔΑ"),
    ("Кампания", "кампания"),
    ("ﬁle drop", "FILE DROP"),
    ("Plain", "pLAIN"),
]


def _bearer(app) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {login_token(app.test_client(), 'admin', 'admin')}"
    }


def _create_strategy(client, headers, name):
    return client.post(
        "/umm/ecm/callStrategy/save",
        json={"name": name, "maxAttempts": 3},
        headers=headers,
    )


def _create_campaign(client, headers, name, strategy_id):
    return client.post(
        "/umm/ecm/campaign/createCampaign",
        json={"name": name, "strategyId": strategy_id},
        headers=headers,
    )


@pytest.mark.parametrize(("stored", "tried"), VARIANTS)
def test_case_variants_of_a_strategy_name_are_406(app, stored, tried):
    headers = _bearer(app)
    client = app.test_client()
    assert _create_strategy(client, headers, stored).status_code == 200
    res = _create_strategy(client, headers, tried)
    assert res.status_code == 406, res.get_data(as_text=True)
    assert res.get_json()["fields"] == {"name": "is already used by another strategy"}
    other = _create_strategy(client, headers, "Something else").get_json()
    rename = client.post(
        "/umm/ecm/callStrategy/updateName",
        json={"csId": other["id"], "name": tried},
        headers=headers,
    )
    assert rename.status_code == 406
    assert "name" in rename.get_json()["fields"]


@pytest.mark.parametrize(("stored", "tried"), VARIANTS)
def test_case_variants_of_a_campaign_name_are_406(app, stored, tried):
    headers = _bearer(app)
    client = app.test_client()
    strategy_id = as_admin(app, lambda admin: new_strategy(admin).id)
    assert _create_campaign(client, headers, stored, strategy_id).status_code == 201
    res = _create_campaign(client, headers, tried, strategy_id)
    assert res.status_code == 406, res.get_data(as_text=True)
    assert res.get_json()["fields"] == {"name": "is already used by another campaign"}


def test_case_variants_of_a_username_are_refused(app):
    from portal.services import users
    from portal.services.errors import ValidationFailed

    def run(admin):
        users.create_user(admin, {"username": "Joerg.K", "password": "password-123"})
        with pytest.raises(ValidationFailed) as refused:
            users.create_user(
                admin, {"username": "jOERG.k", "password": "password-123"}
            )
        return refused.value.fields

    assert as_admin(app, run) == {"username": "is already taken"}


def _race(app, count: int, send) -> list:
    headers = _bearer(app)
    barrier = threading.Barrier(count)
    answers: list = []

    def once(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        res = send(client, headers, i)
        answers.append((res.status_code, res.get_json()))

    threads = [threading.Thread(target=once, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_the_same_strategy_created_at_once_is_one_200_and_406s(app):
    answers = _race(
        app, 6, lambda c, h, i: _create_strategy(c, h, "Race" if i % 2 else "RACE")
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [406] * 5, answers
    for status, body in answers:
        if status == 406:
            assert body["fields"] == {"name": "is already used by another strategy"}


def test_the_same_campaign_created_at_once_is_one_200_and_406s(app):
    strategy_id = as_admin(app, lambda admin: new_strategy(admin).id)
    answers = _race(
        app, 6, lambda c, h, i: _create_campaign(c, h, "Çağrı", strategy_id)
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [406] * 5, answers
    assert all(
        body["fields"] == {"name": "is already used by another campaign"}
        for status, body in answers
        if status == 406
    )


def test_integrity_errors_are_mapped_to_the_field_they_concern():
    """Both databases' wording names the field; anything else is still a 406."""
    from sqlalchemy.exc import IntegrityError

    from portal.services.errors import from_integrity_error

    sqlite_style = IntegrityError(
        "INSERT", {}, Exception("UNIQUE constraint failed: campaigns.name_key")
    )
    assert from_integrity_error(sqlite_style).fields == {
        "name": "is already used by another campaign"
    }
    unknown = IntegrityError("INSERT", {}, Exception("CHECK constraint failed: x"))
    assert from_integrity_error(unknown).status == 406
