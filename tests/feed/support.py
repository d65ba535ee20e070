"""Builders for feed tests: strategies, campaigns and many contacts inserted fast."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from portal.extensions import db
from portal.models import Campaign, Contact
from portal.services import campaigns, strategies

T0 = datetime(2026, 3, 4, 15, 0, 0)  # a Wednesday, 15:00 UTC


def make_strategy(
    admin,
    attempts: list[dict[str, Any]] | None = None,
    max_attempts: int = 3,
    name: str = "S",
):
    """A strategy with attempts given as {"phone", "channel", "retryMap"} dicts."""
    strategy = strategies.create_strategy(
        admin, {"name": name, "maxAttempts": max_attempts}
    )
    for number, spec in enumerate(attempts or [{}], start=1):
        strategies.create_attempt(
            admin,
            {
                "csId": strategy.id,
                "name": spec.get("name", f"Attempt {number}"),
                "phone": spec.get("phone", "1"),
                "channel": spec.get("channel", 0),
                "retryMap": spec.get("retryMap", []),
            },
        )
    return strategy


def make_campaign(admin, strategy, name: str = "C", **fields) -> Campaign:
    data = {"name": name, "strategyId": strategy.id, "timeZone": "UTC"}
    data.update(fields)
    return campaigns.create_campaign(admin, data)


def add_contacts(
    campaign: Campaign,
    count: int,
    dial_time: datetime = T0,
    phone=lambda i: f"+1212555{i % 10000:04d}",
    **extra: Any,
) -> list[int]:
    """Insert pending contacts on the campaign's first attempt; return their ids."""
    first = campaign.strategy.attempts[0] if campaign.strategy.attempts else None
    start = (
        db.session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
    )
    rows = []
    for i in range(count):
        number = phone(start + i + 1)
        rows.append(
            {
                "campaign_id": campaign.id,
                "phone1": number,
                "phone2": extra.get("phone2"),
                "match_key": number,
                "business_param1": f"acct-{start + i + 1}",
                "dial_time": dial_time,
                "request_state": 0,
                "call_result": 0,
                "attempt_id": first.id if first else None,
                "attempt_number": 1,
                "attempts_made": 0,
                "channel": first.channel if first else 0,
                "date_created": dial_time,
            }
        )
    for offset in range(0, len(rows), 5000):
        db.session.execute(insert(Contact.__table__), rows[offset : offset + 5000])
    db.session.commit()
    return list(
        db.session.scalars(
            select(Contact.id).where(Contact.id > start).order_by(Contact.id)
        )
    )


class RecordingDialer:
    """A dialer that remembers every batch and answers with results the test sets."""

    name = "recording"

    def __init__(self, fail: Exception | None = None) -> None:
        self.batches: list[list] = []
        self.fail = fail
        self.results: list = []

    def list_campaigns(self):
        return []

    def dispatch(self, requests):
        if self.fail is not None:
            raise self.fail
        self.batches.append(list(requests))

    def collect_results(self):
        out, self.results = self.results, []
        return out

    @property
    def dispatched(self) -> list:
        return [r for batch in self.batches for r in batch]


def check_attempts_follow_cisco(max_attempts: int) -> None:
    """Each contact's attempts_made = its dials less the ones Cisco does not count.

    Cisco's CallResults table marks some codes "Counted as Attempt? No"
    (enums.CISCO_NOT_DIALED); they give the attempt back up to an allowance of
    maxAttempts of them per contact (results.gives_attempt_back).
    """
    from portal.models import ContactAttempt
    from portal.services.enums import CISCO_NOT_DIALED

    codes: dict[int, list[int]] = {}
    for contact_id, code in db.session.execute(
        select(ContactAttempt.contact_id, ContactAttempt.call_result)
    ):
        codes.setdefault(contact_id, []).append(code)
    for contact in db.session.scalars(select(Contact)):
        made = codes.get(contact.id, [])
        free = min(sum(code in CISCO_NOT_DIALED for code in made), max_attempts)
        assert contact.attempts_made == len(made) - free, (contact.id, made)
