"""Contact rules: the one per-contact check, placement in the strategy, DNC, listing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import ContactAttempt, utcnow
from portal.services import campaigns, contacts, dnc, strategies
from portal.services.enums import (
    BLOCKED_DNC,
    CANCELLED,
    COMPLETED,
    PENDING,
    RESULT_ON_DNC,
)
from portal.services.errors import Forbidden, NotFound, ValidationFailed


@pytest.fixture
def strategy(admin):
    s = strategies.create_strategy(admin, {"name": "S"})
    strategies.create_attempt(admin, {"csId": s.id, "name": "Mobile", "phone": "1"})
    strategies.create_attempt(admin, {"csId": s.id, "name": "Home", "phone": "2"})
    return s


@pytest.fixture
def campaign(admin, strategy):
    return campaigns.create_campaign(
        admin, {"name": "C", "strategyId": strategy.id, "crmCampaignId": "CRM-1"}
    )


def insert(admin, campaign, **fields):
    return contacts.insert_contact(admin, {"campaignId": campaign.id, **fields})


# -- validate_contact_fields: the rule the API, the portal and CSV imports share ------


def test_phone1_is_required(campaign):
    with pytest.raises(ValidationFailed) as exc:
        contacts.validate_contact_fields({"phone2": "+14155550100"}, campaign)
    assert exc.value.fields == {"phone1": "is required"}


def test_every_bad_field_is_named(campaign):
    with pytest.raises(ValidationFailed) as exc:
        contacts.validate_contact_fields(
            {
                "phone1": "12",
                "phone3": "abc",
                "businessParam4": "x" * 256,
                "dialTime": "tomorrow",
            },
            campaign,
        )
    assert set(exc.value.fields) == {"phone1", "phone3", "businessParam4", "dialTime"}
    assert "too short" in exc.value.fields["phone1"]


def test_phones_are_cleaned_and_phone1_gives_the_match_key(campaign):
    row = contacts.validate_contact_fields(
        {"phone1": "(415) 555-0100", "phone2": "+44 20 7183 8750", "phone5": ""},
        campaign,
    )
    assert (row.values["phone1"], row.values["phone2"], row.values["phone5"]) == (
        "4155550100",
        "+442071838750",
        None,
    )
    assert row.match_key == "+14155550100"


def test_business_params_are_text_and_empty_is_null(campaign):
    row = contacts.validate_contact_fields(
        {"phone1": "+14155550100", "businessParam1": 42, "businessParam2": ""}, campaign
    )
    assert (row.values["business_param1"], row.values["business_param2"]) == (
        "42",
        None,
    )


def test_dial_time_defaults_to_now_and_is_read_in_the_campaign_zone(admin, strategy):
    ny = campaigns.create_campaign(
        admin, {"name": "NY", "strategyId": strategy.id, "timeZone": "America/New_York"}
    )
    before = utcnow()
    row = contacts.validate_contact_fields({"phone1": "+14155550100"}, ny)
    assert before - timedelta(seconds=1) <= row.dial_time <= utcnow()
    summer = contacts.validate_contact_fields(
        {"phone1": "+14155550100", "dialTime": "2024-07-01 09:00:00"}, ny
    )
    winter = contacts.validate_contact_fields(
        {"phone1": "+14155550100", "dialTime": "2024-01-15T09:00:00"}, ny
    )
    assert summer.dial_time == datetime(2024, 7, 1, 13, 0)
    assert winter.dial_time == datetime(2024, 1, 15, 14, 0)


@pytest.mark.parametrize(
    "value",
    [
        "2019-11-12 15:10:20",
        "2019-11-12T15:10:20",
        "2019-11-12 15:10",
        "2019-11-12T15:10:20Z",
    ],
)
def test_dial_time_formats(campaign, value):
    row = contacts.validate_contact_fields(
        {"phone1": "+14155550100", "dialTime": value}, campaign
    )
    assert row.dial_time.replace(second=20) == datetime(2019, 11, 12, 15, 10, 20)


@pytest.mark.parametrize(
    "value",
    [
        "2019-13-12 15:10:20",
        "12/11/2019",
        "2019-11-12 15:10+02:00",
        "9999-12-31 23:59:59",
        "0001-01-01 00:00:00",
    ],
)
def test_bad_dial_times(campaign, value):
    with pytest.raises(ValidationFailed) as exc:
        contacts.validate_contact_fields(
            {"phone1": "+14155550100", "dialTime": value}, campaign
        )
    assert "dialTime" in exc.value.fields


# -- insert_contact ------------------------------------------------------------------


def test_insert_places_the_contact_on_the_first_attempt(admin, campaign, strategy):
    c = insert(admin, campaign, phone1="+14155550100", businessParam1="Ayesha")
    first = strategy.attempts[0]
    assert (c.request_state, c.call_result, c.attempts_made) == (PENDING, 0, 0)
    assert (c.attempt_id, c.attempt_number, c.channel) == (first.id, 1, 0)
    assert (c.crm_campaign_id, c.business_param1) == ("CRM-1", "Ayesha")
    assert (
        insert(
            admin, campaign, phone1="+14155550101", crmCampaignId="own"
        ).crm_campaign_id
        == "own"
    )


def test_a_campaign_without_attempts_still_takes_contacts(admin):
    bare = strategies.create_strategy(admin, {"name": "Bare"})
    sms = campaigns.create_campaign(
        admin, {"name": "SMS", "strategyId": bare.id, "type": 2}
    )
    c = contacts.insert_contact(admin, {"campaignId": sms.id, "phone1": "+14155550100"})
    assert (c.attempt_id, c.attempt_number, c.channel) == (None, 1, 1)


def test_insert_needs_an_existing_campaign(admin):
    with pytest.raises(NotFound):
        contacts.insert_contact(admin, {"campaignId": 999, "phone1": "+14155550100"})
    with pytest.raises(ValidationFailed) as exc:
        contacts.insert_contact(admin, {"phone1": "+14155550100"})
    assert exc.value.fields == {"campaignId": "is required"}


def test_a_dnc_number_is_kept_but_blocked(admin, campaign):
    dnc.add_entry(admin, {"primaryNumber": "+14155550100"})
    c = insert(admin, campaign, phone1="415 555 0100")
    assert (c.request_state, c.call_result) == (BLOCKED_DNC, RESULT_ON_DNC)
    assert c.last_status_update_time is not None


def test_deny_refuses_a_second_open_contact_for_the_same_number(
    admin, campaign, strategy
):
    first = insert(admin, campaign, phone1="+14155550100")
    with pytest.raises(ValidationFailed) as exc:
        insert(admin, campaign, phone1="(415) 555-0100", duplicateCallbacks="deny")
    assert "phone1" in exc.value.fields
    # allow (the default) takes it; another campaign is another list
    insert(admin, campaign, phone1="+14155550100")
    other = campaigns.create_campaign(
        admin, {"name": "Other", "strategyId": strategy.id}
    )
    insert(admin, other, phone1="+14155550100", duplicateCallbacks="DENY")
    # a closed contact is no duplicate
    first.request_state = COMPLETED
    db.session.commit()
    solo = campaigns.create_campaign(admin, {"name": "Solo", "strategyId": strategy.id})
    done = insert(admin, solo, phone1="+14155550188")
    done.request_state = COMPLETED
    db.session.commit()
    insert(admin, solo, phone1="+14155550188", duplicateCallbacks="deny")


def test_duplicate_policy_is_allow_or_deny(admin, campaign):
    with pytest.raises(ValidationFailed) as exc:
        insert(admin, campaign, phone1="+14155550100", duplicateCallbacks="maybe")
    assert "duplicateCallbacks" in exc.value.fields


def test_unknown_fields_are_refused(admin, campaign):
    with pytest.raises(ValidationFailed) as exc:
        insert(admin, campaign, phone1="+14155550100", requestState=2)
    assert exc.value.fields == {"requestState": "unknown field"}


# -- listing, history, cancel ------------------------------------------------------


@pytest.fixture
def listed(admin, campaign, strategy):
    other = campaigns.create_campaign(
        admin, {"name": "Other", "strategyId": strategy.id}
    )
    made = [insert(admin, campaign, phone1=f"+1415555010{n}") for n in range(4)]
    made.append(insert(admin, other, phone1="+14155550100"))
    made[1].request_state, made[1].call_result = COMPLETED, 10
    db.session.commit()
    return campaign, other, made


def test_list_filters_and_total(admin, listed):
    campaign, other, made = listed
    items, total = contacts.list_contacts(admin, {"campaignId": campaign.id})
    assert (len(items), total) == (4, 4)
    assert contacts.list_contacts(admin, {"requestState": 2})[1] == 1
    assert contacts.list_contacts(admin, {"callResult": "10"})[1] == 1
    items, total = contacts.list_contacts(admin, {"phone": "415-555-0100"})
    assert {c.campaign_id for c in items} == {campaign.id, other.id}
    assert contacts.list_contacts(admin, {"phone": "not a number"})[1] == 0


def test_list_pages(admin, listed):
    campaign, _, made = listed
    page, total = contacts.list_contacts(
        admin, {"campaignId": campaign.id, "page": 1, "size": 3}
    )
    assert ([c.id for c in page], total) == ([made[3].id], 4)
    page, _ = contacts.list_contacts(admin, {"max": 2, "offset": 1})
    assert [c.id for c in page] == [made[1].id, made[2].id]
    page, total = contacts.list_contacts(admin, {"afterId": made[2].id})
    assert ([c.id for c in page], total) == ([made[3].id, made[4].id], None)


@pytest.mark.parametrize(
    "bad",
    [
        {"size": 0},
        {"size": 1001},
        {"page": -1},
        {"requestState": 8},
        {"campaignId": "x"},
        {"colour": 1},
    ],
)
def test_list_refuses_bad_filters(admin, bad):
    with pytest.raises(ValidationFailed):
        contacts.list_contacts(admin, bad)


def test_list_of_an_unknown_campaign_is_404(admin):
    with pytest.raises(NotFound):
        contacts.list_contacts(admin, {"campaignId": 999})


def test_history_is_in_order(admin, listed):
    _, _, made = listed
    contact = made[0]
    for code in (8, 9):
        db.session.add(
            ContactAttempt(
                contact_id=contact.id,
                campaign_id=contact.campaign_id,
                attempt_number=1,
                call_result=code,
            )
        )
    db.session.commit()
    assert [a.call_result for a in contacts.contact_history(admin, contact)] == [8, 9]


def test_cancel_an_open_contact_only(admin, listed):
    _, _, made = listed
    assert contacts.cancel_contact(admin, made[0].id).request_state == CANCELLED
    with pytest.raises(ValidationFailed):
        contacts.cancel_contact(admin, made[1].id)
    with pytest.raises(NotFound):
        contacts.cancel_contact(admin, 999)


def test_roles(admin, listed, viewer):
    campaign, _, made = listed
    assert contacts.list_contacts(viewer, {})[1] == 5
    assert contacts.get_contact(viewer, made[0].id) is made[0]
    with pytest.raises(Forbidden):
        contacts.insert_contact(
            viewer, {"campaignId": campaign.id, "phone1": "+14155550100"}
        )
    with pytest.raises(Forbidden):
        contacts.cancel_contact(viewer, made[0].id)
