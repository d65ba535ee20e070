"""The `zone` filter field: the time zone a contact's number rings in (#14).

The filter is SQL on the match key (prefix tests from phonenumbers' time-zone table),
so these tests check it against the calling rules' own per-number answer
(calling_rules.zones.zones_of), on real rows in both databases.
"""

from __future__ import annotations

import random
from datetime import timedelta

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.tzdata import TIMEZONE_DATA
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Campaign, Contact
from portal.services import campaigns, contact_filters
from portal.services.calling_rules.zones import zones_of
from portal.services.errors import ValidationFailed
from portal.services.feed import eligibility
from portal.services.feed.claim import claim_due_contacts
from portal.services.feed.plans import load_plan
from portal.services.phones import zone_prefixes
from tests.feed.support import T0, add_contacts, make_campaign, make_strategy

NUMBERS = {
    "new_york": "+12125550142",
    "chicago": "+13125550142",
    "los_angeles": "+12135550142",
    "london": "+442079460142",
    "mumbai": "+912222780142",
    "unplaced": "+999123456789",  # no country has +999
}


@pytest.fixture
def campaign(admin):
    return make_campaign(admin, make_strategy(admin, max_attempts=3))


def _add(campaign, numbers: list[str]) -> list[int]:
    ids = add_contacts(campaign, len(numbers), dial_time=T0 - timedelta(hours=1))
    for contact_id, number in zip(ids, numbers, strict=True):
        db.session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(phone1=number, match_key=number)
        )
    db.session.commit()
    return ids


def _kept(admin, campaign, op: str, value=None) -> set[str]:
    spec = {"rules": [{"field": "zone", "op": op, "value": value}]}
    condition = contact_filters.compile_filter(
        contact_filters.parse_filter(spec), campaign.time_zone
    )
    rows = db.session.scalars(
        select(Contact.phone1).where(Contact.campaign_id == campaign.id, condition)
    )
    return set(rows)


def _zone_filter(*zones: str) -> dict:
    return {"rules": [{"field": "zone", "op": "in", "value": list(zones)}]}


def test_zone_filter_keeps_the_numbers_ringing_in_the_zone(admin, campaign):
    _add(campaign, list(NUMBERS.values()))
    n = NUMBERS
    assert _kept(admin, campaign, "in", ["America/New_York"]) == {n["new_york"]}
    assert _kept(admin, campaign, "in", ["America/Chicago", "America/Los_Angeles"]) == {
        n["chicago"],
        n["los_angeles"],
    }
    assert _kept(admin, campaign, "not_in", ["America/New_York"]) == (
        set(n.values()) - {n["new_york"]}
    )
    # Asia/Kolkata is what people type; phonenumbers calls it Asia/Calcutta
    assert _kept(admin, campaign, "in", ["Asia/Kolkata"]) == {n["mumbai"]}
    assert _kept(admin, campaign, "empty") == {n["unplaced"]}
    assert _kept(admin, campaign, "not_empty") == set(n.values()) - {n["unplaced"]}
    kept, total, spec = contact_filters.kept_counts(
        admin, campaign, _zone_filter("Europe/London")
    )
    assert (kept, total) == (1, len(NUMBERS))
    assert spec["rules"][0]["value"] == ["Europe/London"]


def test_the_claim_and_eligibility_apply_the_zone_filter(admin, campaign):
    ids = _add(campaign, list(NUMBERS.values()))
    campaigns.update_campaign(
        admin,
        {"id": campaign.id, "contactFilter": _zone_filter("America/New_York")},
    )
    fresh = db.session.get(Campaign, campaign.id)
    claimed = claim_due_contacts(fresh, load_plan(fresh.strategy_id), 100, T0).claimed
    assert [c.contact_id for c in claimed] == [ids[0]]
    answer = eligibility.contact_eligibility(db.session.get(Contact, ids[1]), T0)
    assert "excluded_by_filter" in [r.code for r in answer.reasons]
    summary = eligibility.summary([fresh], T0)
    counts = {r["code"]: r["count"] for r in summary[campaign.id]["reasons"]}
    assert counts["excluded_by_filter"] == len(NUMBERS) - 1


GEOGRAPHIC = (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _geographic_numbers() -> list[str]:
    """Every region's example fixed line, and valid US numbers in every area code."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        number = phonenumbers.example_number_for_type(
            region, PhoneNumberType.FIXED_LINE
        )
        if number is not None:
            out.append(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    rnd = random.Random(14)
    areas = sorted(p for p in TIMEZONE_DATA if p.startswith("1") and len(p) == 4)
    exchanges = sorted(p for p in TIMEZONE_DATA if p.startswith("1") and len(p) == 7)
    for prefix in areas + rnd.sample(exchanges, 300):
        digits = prefix[1:] + "".join(rnd.choice("23456789") for _ in range(3))
        number = f"+1{digits[:6]}{rnd.randint(0, 9999):04d}"
        parsed = phonenumbers.parse(number)
        # geographic only: phonenumbers gives a mobile (Barbados' 246-848, for
        # one) its country's zones, and the filter places it by prefix (below)
        if phonenumbers.number_type(parsed) in GEOGRAPHIC:
            out.append(number)
    return sorted(set(out))


def test_the_filter_places_numbers_where_the_calling_rules_do(admin, campaign):
    """Each zone keeps exactly the numbers zones_of puts in it (geographic numbers)."""
    numbers = _geographic_numbers()
    assert len(numbers) > 500
    _add(campaign, numbers)
    rules_zones = {n: set(zones_of(n, n, "US")) for n in numbers}
    every_zone = sorted(set().union(*rules_zones.values()))
    assert len(every_zone) > 150
    mismatched = {}
    for zone in every_zone:
        expected = {n for n, zones in rules_zones.items() if zone in zones}
        got = _kept(admin, campaign, "in", [zone])
        if got != expected:
            mismatched[zone] = (sorted(got - expected), sorted(expected - got))
    assert mismatched == {}
    unplaced = {n for n, zones in rules_zones.items() if not zones}
    assert _kept(admin, campaign, "empty") == unplaced


def test_a_non_geographic_number_is_placed_by_its_prefix(admin, campaign):
    """The documented difference: phonenumbers gives an Australian mobile all of
    Australia's zones for the calling hours; the filter places it by its prefix."""
    mobile = "+61412345678"
    _add(campaign, [mobile])
    assert len(zones_of(mobile, mobile, "US")) > 1
    assert _kept(admin, campaign, "in", ["Australia/Sydney"]) == {mobile}
    assert _kept(admin, campaign, "in", ["Australia/Perth"]) == set()


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"op": "in", "value": ["Mars/Olympus"]}, "not an IANA time zone"),
        ({"op": "in", "value": ["../../etc/passwd"]}, "not an IANA time zone"),
        ({"op": "in", "value": ["/etc/passwd"]}, "not an IANA time zone"),
        ({"op": "in", "value": ["Etc/GMT+5"]}, "no phone number rings in"),
        ({"op": "eq", "value": "Europe/Paris"}, "zone takes in, not_in"),
        ({"op": "in", "value": []}, "give 1 to"),
    ],
)
def test_zone_values_are_checked(admin, campaign, rule, message):
    bad = {"rules": [{"field": "zone", **rule}]}
    with pytest.raises(ValidationFailed) as err:
        campaigns.update_campaign(admin, {"id": campaign.id, "contactFilter": bad})
    assert message in err.value.fields["contactFilter"]


def test_prefix_sets_are_prefix_free_and_cover_each_number_once() -> None:
    """No number matches two prefixes of one zone's set, so the IN tests are exact."""
    for zone in ("America/New_York", "Australia/Sydney", "America/Sao_Paulo"):
        prefixes = zone_prefixes.prefixes_ringing_in(frozenset({zone}))
        ordered = sorted(prefixes)
        assert all(
            not b.startswith(a) for a, b in zip(ordered, ordered[1:], strict=False)
        )
    assert zone_prefixes.table_names("Asia/Kolkata") == ("Asia/Calcutta",)
    assert zone_prefixes.table_names("Europe/Paris") == ("Europe/Paris",)


def test_a_zone_given_for_the_person_wins_over_the_numbers(admin, campaign):
    """A contact's own timeZone (issue #12) places it, as in the calling rules; the
    number's prefix places those without one."""
    ids = _add(campaign, [NUMBERS["new_york"], NUMBERS["london"], NUMBERS["unplaced"]])
    db.session.execute(
        update(Contact)
        .where(Contact.id.in_(ids[:1] + ids[2:]))
        .values(time_zone="America/Chicago")
    )
    db.session.commit()
    chicago = {NUMBERS["new_york"], NUMBERS["unplaced"]}
    assert _kept(admin, campaign, "in", ["America/Chicago"]) == chicago
    assert _kept(admin, campaign, "in", ["America/New_York"]) == set()
    assert _kept(admin, campaign, "not_in", ["America/Chicago"]) == {NUMBERS["london"]}
    assert _kept(admin, campaign, "not_empty") == {*chicago, NUMBERS["london"]}
    assert _kept(admin, campaign, "empty") == set()
