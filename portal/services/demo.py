"""A believable demo data set for a new installation (flask seed-demo)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Campaign, User, utcnow
from portal.services import campaigns, contacts, dnc, preferences, strategies
from portal.services.enums import CampaignStatus, CampaignType, Channel
from portal.services.errors import NotFound, ServiceError

FIRST = [
    "Ayesha",
    "Bilal",
    "Carmen",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hassan",
    "Ines",
    "James",
    "Keiko",
    "Liam",
    "Maria",
    "Noah",
    "Omar",
    "Priya",
]
LAST = [
    "Ahmed",
    "Brown",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Malik",
    "Novak",
    "Okafor",
    "Patel",
]


def _admin() -> User:
    return db.session.scalar(
        select(User).where(User.role == "Administrator").order_by(User.id)
    )


STANDARD_ATTEMPTS = [
    {
        "name": "Mobile",
        "phone": "1",
        "channel": Channel.VOICE,
        "retryMap": [
            {"call_result": 8, "attempt_number": 2, "delay": 2},
            {"call_result": 9, "attempt_number": 1, "delay": 1, "expiry": 120},
            {"call_result": 12, "attempt_number": 2, "delay": 5},
        ],
    },
    {
        "name": "Home phone",
        "phone": "2",
        "channel": Channel.VOICE,
        "retryMap": [
            {"call_result": 8, "attempt_number": 3, "delay": 3},
            {"call_result": 9, "attempt_number": 2, "delay": 1},
        ],
    },
    {"name": "SMS reminder", "phone": "1", "channel": Channel.SMS, "retryMap": []},
]
SINGLE_ATTEMPT = {
    "name": "Default",
    "phone": "1",
    "channel": Channel.VOICE,
    "retryMap": [],
}
ALL_DAY = {
    "startTime": "00:00",
    "endTime": "23:59",
    "weekDays": "0,1,2,3,4,5,6",
    "enabled": True,
}
RENEWAL_SMS = (
    "Hello {businessParam1}, your card ending {businessParam2} expires soon. "
    "Call us back on 0800 123 456."
)


def seed(contact_count: int = 300, seed_value: int = 7) -> dict[str, int]:
    """Create demo strategies, campaigns, DNC entries and contacts; runs once."""
    actor = _admin()
    if actor is None:
        raise NotFound("No administrator yet: run `flask init-db` first")
    rng = random.Random(seed_value)
    if db.session.scalar(select(Campaign).where(Campaign.name == "Card renewals")):
        return {"skipped": 1}
    if preferences.current() is None:
        preferences.save_preferences(
            actor, {"campaignBatchSize": 25, "ivrBatchSize": 40}
        )
    standard, quick = _strategies(actor)
    renewals, survey = _campaigns(actor, standard.id, quick.id)
    dnc_numbers = _dnc_entries(actor, rng)
    created = _contacts(actor, rng, (renewals, survey), dnc_numbers, contact_count)
    return {
        "strategies": 2,
        "campaigns": 3,
        "dnc": len(dnc_numbers),
        "contacts": created,
    }


def _strategies(actor: User):
    """A four-attempt retry strategy with an SMS step, and a single try."""
    standard = strategies.create_strategy(
        actor, {"name": "Standard retry", "maxAttempts": 4}
    )
    for attempt in STANDARD_ATTEMPTS:
        strategies.create_attempt(actor, {"csId": standard.id, **attempt})
    quick = strategies.create_strategy(actor, {"name": "Single try", "maxAttempts": 1})
    strategies.create_attempt(actor, {"csId": quick.id, **SINGLE_ATTEMPT})
    return standard, quick


def _campaigns(actor: User, standard_id: int, quick_id: int):
    """Two all-day campaigns (agent, IVR) and a switched-off office-hours one."""
    renewals = campaigns.create_campaign(
        actor,
        {
            **ALL_DAY,
            "name": "Card renewals",
            "description": "Customers whose card expires this month",
            "strategyId": standard_id,
            "type": CampaignType.AGENT,
            "status": CampaignStatus.PAUSED,
            "ciscoCampaignId": "5001",
            "dialerType": "PROGRESSIVE",
            "crmCampaignId": "CRM-REN-01",
            "smsTemplate": RENEWAL_SMS,
        },
    )
    survey = campaigns.create_campaign(
        actor,
        {
            **ALL_DAY,
            "name": "Satisfaction survey",
            "description": "Post-visit IVR survey",
            "strategyId": quick_id,
            "type": CampaignType.IVR,
            "status": CampaignStatus.PAUSED,
            "ciscoCampaignId": "5002",
            "dialerType": "PREDICTIVE",
        },
    )
    campaigns.create_campaign(
        actor,
        {
            "name": "Overdue payments",
            "description": "Weekdays office hours only",
            "strategyId": standard_id,
            "type": CampaignType.AGENT,
            "status": CampaignStatus.PAUSED,
            "startTime": "09:00",
            "endTime": "17:30",
            "weekDays": "1,2,3,4,5",
            "enabled": False,
            "timeZone": "America/New_York",
            "respectContactTimeZone": True,
            "dialerType": "PREVIEW",
        },
    )
    return renewals, survey


def _dnc_entries(actor: User, rng: random.Random) -> list[str]:
    numbers = [f"+1212555{n:04d}" for n in rng.sample(range(10000), 25)]
    for number in numbers:
        dnc.add_entry(
            actor,
            {
                "primaryNumber": number,
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            },
        )
    return numbers


def _contacts(
    actor: User,
    rng: random.Random,
    targets: tuple[Campaign, Campaign],
    dnc_numbers: list[str],
    count: int,
) -> int:
    """Contacts spread over the two campaigns; every 40th one is on the DNC list."""
    renewals, survey = targets
    created = 0
    now = utcnow()
    for n in range(count):
        phone1 = _demo_number(n, rng, dnc_numbers)
        data = {
            "campaignId": (renewals if n % 3 else survey).id,
            "phone1": phone1,
            "phone2": f"+1{rng.choice(['303', '512'])}555{rng.randrange(10000):04d}",
            "businessParam1": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "businessParam2": f"{rng.randrange(10000):04d}",
            "dialTime": (now - timedelta(minutes=rng.randrange(600))).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
        }
        try:
            contacts.insert_contact(actor, data)
            created += 1
        except ServiceError:  # a demo row the rules refuse is skipped
            db.session.rollback()
    return created


def _demo_number(n: int, rng: random.Random, dnc_numbers: list[str]) -> str:
    """A demo contact's number: US numbers (dialable 08:00-21:00 their local time, by
    law), and every third one in London's range Ofcom keeps for drama (020 7946 0xxx),
    which no regional rule limits, so the demo has contacts to dial at any hour."""
    if n % 40 == 0:
        return rng.choice(dnc_numbers)
    if n % 3 == 1:
        return f"+442079460{n % 1000:03d}"
    return f"+1{rng.choice(['212', '415', '646', '718'])}555{rng.randrange(10000):04d}"
