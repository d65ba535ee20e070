"""flask seed-demo's data: believable, valid through the services, safe to run twice."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditLog, CallStrategy, Campaign, Contact, DncEntry
from portal.services import demo, preferences
from portal.services.enums import BLOCKED_DNC


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_builds_the_demo_through_the_services(admin):
    summary = demo.seed(60)
    assert summary == {"strategies": 2, "campaigns": 3, "dnc": 25, "contacts": 60}
    assert (count(CallStrategy), count(Campaign), count(DncEntry), count(Contact)) == (
        2,
        3,
        25,
        60,
    )
    assert preferences.batch_sizes() == (25, 40)
    blocked = db.session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.request_state == BLOCKED_DNC)
    )
    assert blocked >= 1, "some demo contacts are on the DNC list"
    assert count(AuditLog) > 60, "every demo row went through an audited service"


def test_seed_twice_changes_nothing(admin):
    demo.seed(10)
    before = (count(Campaign), count(Contact))
    assert demo.seed(10) == {"skipped": 1}
    assert (count(Campaign), count(Contact)) == before


def test_seed_is_deterministic(admin):
    demo.seed(15)
    numbers = db.session.scalars(select(Contact.phone1).order_by(Contact.id)).all()
    assert len(numbers) == 15 and numbers[0].startswith("+1")
