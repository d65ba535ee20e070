"""Campaign rules: required fields, unique names, HH:MM, weekDays, references, type."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AuditLog,
    CallResultInbox,
    Campaign,
    Contact,
    ContactAttempt,
    utcnow,
)
from portal.services import campaigns, contacts, strategies
from portal.services.errors import Forbidden, NotFound, Unauthorized, ValidationFailed


@pytest.fixture
def strategy(admin):
    return strategies.create_strategy(admin, {"name": "Standard"})


def create(admin, strategy, **fields):
    return campaigns.create_campaign(
        admin, {"name": "Renewals", "strategyId": strategy.id, **fields}
    )


def fields_of(exc_info) -> dict:
    return exc_info.value.fields


def test_create_with_defaults(admin, strategy, app):
    c = create(admin, strategy)
    assert (c.status, c.type, c.enabled) == (1, 0, True)
    assert (c.start_time, c.end_time, c.week_days) == (
        "00:00",
        "23:59",
        "0,1,2,3,4,5,6",
    )
    assert c.time_zone == app.config["ECM_TIMEZONE"]
    assert c.date_created is not None and c.last_updated is not None


def test_default_time_zone_comes_from_config(app_factory):
    app = app_factory(ECM_TIMEZONE="Europe/Berlin")
    with app.app_context():
        from tests.conftest import make_user

        admin = make_user("Administrator", "boss")
        s = strategies.create_strategy(admin, {"name": "S"})
        c = campaigns.create_campaign(admin, {"name": "C", "strategyId": s.id})
        assert c.time_zone == "Europe/Berlin"


def test_name_and_strategy_are_required(admin):
    with pytest.raises(ValidationFailed) as exc:
        campaigns.create_campaign(admin, {})
    assert fields_of(exc) == {"name": "is required", "strategyId": "is required"}


def test_name_is_unique_ignoring_case(admin, strategy):
    create(admin, strategy)
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, name="RENEWALS")
    assert "name" in fields_of(exc)
    other = create(admin, strategy, name="Other")
    with pytest.raises(ValidationFailed):
        campaigns.update_campaign(admin, {"id": other.id, "name": "renewals"})
    # renaming a campaign to its own name is fine
    assert (
        campaigns.update_campaign(admin, {"id": other.id, "name": "Other"}).name
        == "Other"
    )


@pytest.mark.parametrize(
    "value", ["24:00", "9:00", "12:60", "noon", "1200", "", "12:00:30"]
)
def test_times_must_be_hh_mm(admin, strategy, value):
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, startTime=value)
    assert "HH:MM" in fields_of(exc)["startTime"]


@pytest.mark.parametrize(
    ("value", "stored"), [("00:00", "00:00"), ("23:59", "23:59"), ("08:30:00", "08:30")]
)
def test_valid_times(admin, strategy, value, stored):
    assert create(admin, strategy, endTime=value).end_time == stored


def test_a_window_may_cross_midnight(admin, strategy):
    c = create(admin, strategy, startTime="22:00", endTime="02:00")
    assert (c.start_time, c.end_time) == ("22:00", "02:00")


@pytest.mark.parametrize("value", ["7", "0,1,8", "-1", "mon", "", ",", "1;2"])
def test_week_days_are_0_to_6(admin, strategy, value):
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, weekDays=value)
    assert "weekDays" in fields_of(exc)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("3,1,1", "1,3"),
        (" 0 , 6 ", "0,6"),
        ([5, 0], "0,5"),
        ("0,1,2,3,4,5,6", "0,1,2,3,4,5,6"),
    ],
)
def test_week_days_are_normalised(admin, strategy, value, stored):
    assert create(admin, strategy, weekDays=value).week_days == stored


def test_seed_spellings_are_accepted(admin, strategy):
    c = create(admin, strategy, startTIme="07:15", weekdays="1,2")
    assert (c.start_time, c.week_days) == ("07:15", "1,2")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "utc+1", ""])
def test_time_zone_must_be_iana(admin, strategy, zone):
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, timeZone=zone)
    assert "timeZone" in fields_of(exc)


def test_strategy_must_exist(admin):
    with pytest.raises(ValidationFailed) as exc:
        campaigns.create_campaign(admin, {"name": "x", "strategyId": 999})
    assert fields_of(exc) == {"strategyId": "strategy 999 does not exist"}


def test_dialer_campaign_must_exist_and_its_name_is_filled_in(admin, strategy):
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, ciscoCampaignId="999999")
    assert "ciscoCampaignId" in fields_of(exc)
    c = create(admin, strategy, ciscoCampaignId="5001")
    assert c.cisco_campaign_name == "Collections_Predictive"
    named = create(
        admin,
        strategy,
        name="Named",
        ciscoCampaignId=5002,
        ciscoCampaignName="My label",
    )
    assert (named.cisco_campaign_id, named.cisco_campaign_name) == ("5002", "My label")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", 3),
        ("type", -1),
        ("status", 2),
        ("dialerType", "ROBOCALL"),
        ("responseTimeout", 5),
        ("enabled", "maybe"),
    ],
)
def test_enumerations_are_checked(admin, strategy, field, value):
    with pytest.raises(ValidationFailed) as exc:
        create(admin, strategy, **{field: value})
    assert field in fields_of(exc)


def test_dialer_type_is_case_insensitive(admin, strategy):
    assert (
        create(admin, strategy, dialerType="progressive").dialer_type == "PROGRESSIVE"
    )


def test_numeric_strings_are_numbers(admin, strategy):
    c = create(admin, strategy, strategyId=str(strategy.id), type="2", status="0")
    assert (c.strategy_id, c.type, c.status) == (strategy.id, 2, 0)


def test_type_cannot_change(admin, strategy):
    c = create(admin, strategy, type=1)
    with pytest.raises(ValidationFailed) as exc:
        campaigns.update_campaign(admin, {"id": c.id, "type": 0})
    assert "type" in fields_of(exc)
    assert campaigns.update_campaign(admin, {"id": c.id, "type": 1}).type == 1


def test_update_changes_only_the_fields_sent(admin, strategy):
    c = create(admin, strategy, description="keep", startTime="08:00")
    campaigns.update_campaign(admin, {"id": c.id, "endTime": "18:00"})
    assert (c.description, c.start_time, c.end_time) == ("keep", "08:00", "18:00")


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "strategyId",
        "startTime",
        "weekDays",
        "timeZone",
        "status",
        "enabled",
        "respectContactTimeZone",
    ],
)
def test_update_refuses_null_for_required_fields(admin, strategy, field):
    c = create(admin, strategy)
    with pytest.raises(ValidationFailed) as exc:
        campaigns.update_campaign(admin, {"id": c.id, field: None})
    assert fields_of(exc) == {field: "may not be null"}


def test_update_may_clear_optional_fields(admin, strategy):
    c = create(admin, strategy, description="x", smsTemplate="Hi")
    campaigns.update_campaign(
        admin, {"id": c.id, "description": None, "smsTemplate": None}
    )
    assert (c.description, c.sms_template) == (None, None)


def test_update_checks_the_new_strategy_exists(admin, strategy):
    c = create(admin, strategy)
    with pytest.raises(ValidationFailed):
        campaigns.update_campaign(admin, {"id": c.id, "strategyId": 999})


def test_unknown_campaign_is_not_found(admin):
    with pytest.raises(NotFound):
        campaigns.update_campaign(admin, {"id": 999, "name": "x"})
    with pytest.raises(NotFound):
        campaigns.delete_campaign(admin, 999)
    with pytest.raises(ValidationFailed):
        campaigns.get_campaign(admin, "abc")


def test_skill_group_is_required_and_links_a_dialer_campaign(admin, strategy):
    with pytest.raises(ValidationFailed) as exc:
        campaigns.create_campaign(
            admin, {"name": "x", "strategyId": strategy.id}, by_skill_group=True
        )
    assert fields_of(exc) == {"skillGroup": "is required"}
    c = campaigns.create_campaign(
        admin,
        {"name": "x", "strategyId": strategy.id, "skillGroup": "renewals_progressive"},
        by_skill_group=True,
    )
    assert (c.skill_group, c.cisco_campaign_id) == ("renewals_progressive", "5002")
    unlinked = campaigns.create_campaign(
        admin,
        {"name": "y", "strategyId": strategy.id, "skillGroup": "nobody"},
        by_skill_group=True,
    )
    assert unlinked.cisco_campaign_id is None


@pytest.mark.parametrize(
    ("status", "stored", "verb"),
    [
        (0, 0, "paused"),
        ("resume", 1, "resumed"),
        ("pause", 0, "paused"),
        ("1", 1, "resumed"),
    ],
)
def test_set_status(admin, strategy, status, stored, verb):
    c = create(admin, strategy)
    campaign, said = campaigns.set_status(admin, {"id": c.id, "status": status})
    assert (campaign.status, said) == (stored, verb)


def test_pause_and_resume_are_audited_as_such(admin, strategy):
    c = create(admin, strategy)
    campaigns.set_status(admin, {"id": c.id, "status": 0})
    campaigns.set_status(admin, {"id": c.id, "status": 0})  # no change, no row
    campaigns.set_status(admin, {"id": c.id, "status": 1})
    actions = db.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.entity == "campaign")
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["create", "pause", "resume"]


def test_audit_rows_carry_the_changed_fields(admin, strategy):
    c = create(admin, strategy)
    campaigns.update_campaign(
        admin, {"id": c.id, "name": "New name", "endTime": "23:59"}
    )
    campaigns.delete_campaign(admin, c.id)
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "campaign").order_by(AuditLog.id)
    ).all()
    assert [r.action for r in rows] == ["create", "update", "delete"]
    assert rows[0].changes["name"] == "Renewals" and rows[0].username == "admin"
    assert rows[1].changes == {"name": ["Renewals", "New name"]}, (
        "unchanged endTime omitted"
    )
    assert rows[2].changes == {"name": "New name"}
    assert all(r.entity_id == str(c.id) for r in rows)


def test_delete_removes_contacts_their_history_and_inbox(admin, strategy):
    c = create(admin, strategy)
    kept = create(admin, strategy, name="Kept")
    contact = contacts.insert_contact(
        admin, {"campaignId": c.id, "phone1": "+14155550100"}
    )
    contacts.insert_contact(admin, {"campaignId": kept.id, "phone1": "+14155550100"})
    db.session.add(
        ContactAttempt(
            contact_id=contact.id,
            campaign_id=c.id,
            attempt_number=1,
            call_result=8,
            result_at=utcnow(),
        )
    )
    db.session.add(CallResultInbox(contact_id=contact.id, call_result=10))
    db.session.commit()
    campaigns.delete_campaign(admin, c.id)
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert (
        count(Campaign),
        count(Contact),
        count(ContactAttempt),
        count(CallResultInbox),
    ) == (1, 1, 0, 0)


def test_list_pages_in_id_order(admin, strategy):
    for n in range(5):
        create(admin, strategy, name=f"c{n}")
    items, total = campaigns.list_campaigns(admin, offset=1, limit=2)
    assert ([c.name for c in items], total) == (["c1", "c2"], 5)


def test_roles(admin, strategy, supervisor, viewer):
    create(admin, strategy)
    assert campaigns.list_campaigns(viewer)[1] == 1
    with pytest.raises(Forbidden):
        campaigns.create_campaign(viewer, {"name": "v", "strategyId": strategy.id})
    with pytest.raises(Forbidden):
        campaigns.set_status(viewer, {"id": 1, "status": 0})
    with pytest.raises(Forbidden):
        campaigns.delete_campaign(viewer, 1)
    assert create(supervisor, strategy, name="By supervisor").name == "By supervisor"
    with pytest.raises(Unauthorized):
        campaigns.list_campaigns(None)
