"""Input limits: known JSON fields only, clear 413s, nothing half-kept."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import func, select

from portal.api.core import ENDPOINTS
from tests.security.builders import new_campaign, new_contact

AUTH_ENDPOINTS = {"/umm/api/login", "/umm/oauth/access_token"}


def schema_endpoints() -> list[tuple[str, str]]:
    """(method, path) of every endpoint that reads a JSON body through a schema."""
    import portal.api  # noqa: F401 - registers the endpoints

    out = []
    for ep in ENDPOINTS:
        if ep.body is None or ep.rule in AUTH_ENDPOINTS:
            continue
        method = "POST" if "POST" in ep.methods else ep.methods[0]
        out.append((method, ep.rule))
    return out


def concrete(path: str, admin) -> str:
    """The rule with its path ids filled in by records that exist (else a 404)."""
    from portal.services import dnc_lists

    if "<int:campaign_id>" in path:
        path = path.replace("<int:campaign_id>", str(new_campaign(admin).id))
    if "<int:list_id>" in path:
        made = dnc_lists.create_list(admin, {"name": "Hardening", "channel": "both"})
        path = path.replace("<int:list_id>", str(made.id))
    assert "<" not in path, f"fill in the path ids of {path}"
    return path


@pytest.mark.parametrize("method,path", schema_endpoints())
def test_unknown_fields_are_refused(api, admin, method, path):
    res = api.call(
        method, concrete(path, admin), json={"isAdmin": True, "role": "Administrator"}
    )
    assert res.status_code == 406, res.get_data(as_text=True)
    fields = res.get_json()["fields"]
    # a top-level field, or named inside the one field a filter body is read as
    assert fields.get("isAdmin") == "unknown field" or fields == {
        "contactFilter": "isAdmin: Extra inputs are not permitted"
    }, fields


def test_no_mass_assignment_on_campaign_create(api, admin):
    from portal.extensions import db
    from portal.models import Campaign

    strategy = new_campaign(admin).strategy_id
    before = db.session.scalar(select(func.count()).select_from(Campaign))
    res = api.post(
        "/umm/ecm/campaign/createCampaign",
        json={
            "name": "Sneaky",
            "strategyId": strategy,
            "id": 4242,
            "dateCreated": "2000-01-01T00:00:00Z",
            "lastUpdated": "2000-01-01T00:00:00Z",
        },
    )
    assert res.status_code == 406
    assert set(res.get_json()["fields"]) == {"id", "dateCreated", "lastUpdated"}
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == before
    assert db.session.get(Campaign, 4242) is None


def test_no_mass_assignment_of_contact_state(api, admin):
    from portal.extensions import db
    from portal.models import Contact

    campaign = new_campaign(admin)
    res = api.post(
        "/umm/ecm/callback/insertCallback",
        json={
            "campaignId": campaign.id,
            "phone1": "+14155550100",
            "requestState": 2,
            "callResult": 10,
            "attemptsMade": 99,
        },
    )
    assert res.status_code == 406
    assert set(res.get_json()["fields"]) == {
        "requestState",
        "callResult",
        "attemptsMade",
    }
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_dnc_update_ignores_echoed_read_only_fields(api, admin):
    from portal.extensions import db
    from portal.models import DncEntry

    entry = api.post("/umm/ecm/contact/save", json={"primaryNumber": "+14155550177"})
    entry = entry.get_json()
    res = api.post(
        "/umm/ecm/contact/update",
        json={
            **entry,
            "name": "Renamed",
            "dateCreated": "2000-01-01T00:00:00Z",
            "dataCreated": "2000-01-01T00:00:00Z",
            "updateById": 999,
        },
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    after = res.get_json()
    assert after["name"] == "Renamed"
    assert after["dateCreated"] == entry["dateCreated"]
    stored = db.session.get(DncEntry, entry["id"])
    db.session.refresh(stored)
    assert stored.date_created.year != 2000


def test_nested_unknown_fields_are_refused(api, admin):
    strategy = new_campaign(admin).strategy_id
    res = api.post(
        "/umm/ecm/callStrategyAttempt/save",
        json={
            "csId": strategy,
            "name": "Second",
            "retryMap": [{"call_result": 8, "attempt_number": 1, "delay": 5, "x": 1}],
        },
    )
    assert res.status_code == 406
    assert any(key.endswith(".x") for key in res.get_json()["fields"])


@pytest.fixture
def small_limit_app(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=64 * 1024, ECM_MAX_UPLOAD_MB=1)
    with app.app_context():
        from portal.services import users

        users.ensure_admin("admin", is_default=True)
    return app


def _token(app) -> dict[str, str]:
    from tests.conftest import login_token

    return {
        "Authorization": f"Bearer {login_token(app.test_client(), 'admin', 'admin')}"
    }


def test_oversized_upload_is_413_in_the_json_error_shape(small_limit_app):
    from portal.extensions import db
    from portal.models import Upload

    app = small_limit_app
    with app.app_context():
        from sqlalchemy import select as sel

        from portal.models import User

        admin = db.session.scalar(sel(User).where(User.username == "admin"))
        campaign_id = new_campaign(admin).id
    headers = _token(app)
    big = b"".join(b"+1415555%04d,Name %d\n" % (i % 10000, i) for i in range(6000))
    assert len(big) > 64 * 1024
    upload_dir = app.config["ECM_UPLOAD_DIR"]
    files_before = set(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else set()
    for path, fields in (
        ("/umm/ecm/callback/uploadBulkCaller", {"campaignId": str(campaign_id)}),
        ("/umm/ecm/contact/uploadCsv", {}),
    ):
        res = app.test_client().post(
            path,
            data={**fields, "file": (io.BytesIO(big), "contacts.csv")},
            headers=headers,
            content_type="multipart/form-data",
        )
        assert res.status_code == 413, (path, res.get_data(as_text=True))
        body = res.get_json()
        assert body["error"] == "payload_too_large"
        assert "larger than the upload limit of 0.0625 MB" in body["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    files_after = set(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else set()
    assert files_after == files_before


def test_oversized_json_body_is_a_clear_413(small_limit_app):
    app = small_limit_app
    payload = '{"campaignId": 1, "phone1": "' + "1" * (70 * 1024) + '"}'
    res = app.test_client().post(
        "/umm/ecm/callback/insertCallback",
        data=payload,
        headers={**_token(app), "Content-Type": "application/json"},
    )
    assert res.status_code == 413
    assert res.get_json() == {
        "error": "payload_too_large",
        "message": "The file is larger than the upload limit of 0.0625 MB",
    }


def test_malformed_json_is_400_and_wrong_shape_is_406(api, admin):
    campaign = new_campaign(admin)
    new_contact(admin, campaign)
    bad = api.client.post(
        "/umm/ecm/callback/insertCallback",
        data="{not json",
        headers={**api._headers(), "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert bad.get_json()["error"] == "bad_request"
    for shape in ([1, 2], "text", 42, None):
        res = api.post("/umm/ecm/callback/insertCallback", json=shape)
        assert res.status_code in (400, 406), shape


def test_oversized_portal_upload_is_a_clear_413(small_limit_app):
    from portal.extensions import db
    from portal.models import Upload
    from tests.security.builders import as_admin, csrf_token, portal_login

    app = small_limit_app
    campaign_id = as_admin(app, lambda admin: new_campaign(admin).id)
    browser = app.test_client()
    assert portal_login(browser, "admin", "admin").status_code in (302, 303)
    token = csrf_token(browser, "/campaigns")
    big = b"".join(b"+1415555%04d,Name %d\n" % (i % 10000, i) for i in range(6000))
    res = browser.post(
        "/uploads",
        data={
            "kind": "contacts",
            "campaignId": str(campaign_id),
            "file": (io.BytesIO(big), "big.csv"),
        },
        headers={"X-CSRFToken": token, "HX-Request": "true"},
        content_type="multipart/form-data",
    )
    assert res.status_code == 413
    assert "0.0625 MB" in res.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
