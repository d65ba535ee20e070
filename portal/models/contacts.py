from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models._base import utcnow

BUSINESS_PARAMS = tuple(f"business_param{i}" for i in range(1, 13))
PHONES = tuple(f"phone{i}" for i in range(1, 6))
# a multiplicative hash of the id: a fixed pseudo-random order an index can serve
SHUFFLE_SQL = "((id * 2654435761) & 4294967295)"


class Contact(db.Model):
    """A campaign contact (the seed's "callback"), with its place in the strategy."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_due", "campaign_id", "request_state", "dial_time", "id"),
        Index("ix_contacts_campaign_key", "campaign_id", "match_key"),
        Index("ix_contacts_match_key", "match_key"),
        # feed: response timeouts; partial, so claims and results touch it only once
        Index(
            "ix_contacts_dispatched",
            "campaign_id",
            "request_time",
            postgresql_where=text("request_state = 1"),
            sqlite_where=text("request_state = 1"),
        ),
        # feed: retry expiry housekeeping and the "retry expired" count (partial: most
        # contacts never expire; an index they are not in costs their updates nothing)
        Index(
            "ix_contacts_expiry",
            "campaign_id",
            "expires_at",
            postgresql_where=text("request_state = 0 AND expires_at IS NOT NULL"),
            sqlite_where=text("request_state = 0 AND expires_at IS NOT NULL"),
        ),
        # feed: pending contacts with no attempts left (rare; partial keeps it tiny)
        Index(
            "ix_contacts_spent",
            "campaign_id",
            "attempts_made",
            postgresql_where=text("request_state = 0"),
            sqlite_where=text("request_state = 0"),
        ),
        # dialOrder "newest": the most recently added first
        Index(
            "ix_contacts_newest",
            "campaign_id",
            "id",
            postgresql_where=text("request_state = 0"),
            sqlite_where=text("request_state = 0"),
        ),
        # dialOrder "random": a fixed shuffle of the ids (portal/services/dial_order.py)
        Index(
            "ix_contacts_shuffle",
            "campaign_id",
            text(SHUFFLE_SQL),
            "id",
            postgresql_where=text("request_state = 0"),
            sqlite_where=text("request_state = 0"),
        ),
        # customer callbacks are claimed ahead of the campaign's order
        Index(
            "ix_contacts_callback",
            "campaign_id",
            "callback_at",
            postgresql_where=text("request_state = 0 AND callback_at IS NOT NULL"),
            sqlite_where=text("request_state = 0 AND callback_at IS NOT NULL"),
        ),
        # recycling: closed contacts by last result and when they closed
        Index(
            "ix_contacts_recycle",
            "campaign_id",
            "call_result",
            "last_status_update_time",
            postgresql_where=text("request_state IN (2, 3, 4)"),
            sqlite_where=text("request_state IN (2, 3, 4)"),
        ),
        UniqueConstraint("upload_id", "row_number", name="uq_contacts_upload_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    crm_campaign_id: Mapped[str | None] = mapped_column(String(255))
    phone1: Mapped[str] = mapped_column(String(32))
    phone2: Mapped[str | None] = mapped_column(String(32))
    phone3: Mapped[str | None] = mapped_column(String(32))
    phone4: Mapped[str | None] = mapped_column(String(32))
    phone5: Mapped[str | None] = mapped_column(String(32))
    match_key: Mapped[str] = mapped_column(String(32))
    business_param1: Mapped[str | None] = mapped_column(String(255))
    business_param2: Mapped[str | None] = mapped_column(String(255))
    business_param3: Mapped[str | None] = mapped_column(String(255))
    business_param4: Mapped[str | None] = mapped_column(String(255))
    business_param5: Mapped[str | None] = mapped_column(String(255))
    business_param6: Mapped[str | None] = mapped_column(String(255))
    business_param7: Mapped[str | None] = mapped_column(String(255))
    business_param8: Mapped[str | None] = mapped_column(String(255))
    business_param9: Mapped[str | None] = mapped_column(String(255))
    business_param10: Mapped[str | None] = mapped_column(String(255))
    business_param11: Mapped[str | None] = mapped_column(String(255))
    business_param12: Mapped[str | None] = mapped_column(String(255))
    dial_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    request_state: Mapped[int] = mapped_column(Integer, default=0)
    call_result: Mapped[int] = mapped_column(Integer, default=0)
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    attempt_number: Mapped[int] = mapped_column(Integer, default=1)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    number_to_call: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[int] = mapped_column(Integer, default=0)
    request_time: Mapped[datetime | None] = mapped_column(DateTime)
    last_status_update_time: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    upload_id: Mapped[int | None] = mapped_column(Integer)
    row_number: Mapped[int | None] = mapped_column(Integer)
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # higher is dialed first when the campaign's dialOrder is "priority"
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # a customer's requested callback time; claimed ahead of the normal order
    callback_at: Mapped[datetime | None] = mapped_column(DateTime)
    # how many times recycling has reopened this contact
    recycle_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # where the person is, when the integrator knows better than the number: an IANA
    # zone and a rule region (ISO 3166, "US-FL"); the calling rules prefer them
    time_zone: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(10))


# dialOrder "priority": higher first, then due time (partial: pending contacts only)
Index(
    "ix_contacts_priority",
    Contact.campaign_id,
    Contact.priority.desc(),
    Contact.dial_time,
    Contact.id,
    postgresql_where=text("request_state = 0"),
    sqlite_where=text("request_state = 0"),
)


class ContactAttempt(db.Model):
    """One dial or message of a contact and the result the dialer gave."""

    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(Integer, index=True)
    strategy_attempt_id: Mapped[int | None] = mapped_column(Integer)
    attempt_number: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[int] = mapped_column(Integer, default=0)
    call_result: Mapped[int] = mapped_column(Integer)
    raw_code: Mapped[str | None] = mapped_column(String(255))
    dialed_at: Mapped[datetime | None] = mapped_column(DateTime)
    result_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class CallResultInbox(db.Model):
    """Results received from a dialer, applied by the next feed tick."""

    __tablename__ = "call_result_inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(Integer, index=True)
    call_result: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str | None] = mapped_column(String(255))
    # a simulated result is stored ahead of time, due when received_at has passed
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # the time a customer asked to be called back at (results 14 and 15)
    callback_at: Mapped[datetime | None] = mapped_column(DateTime)


class DialLog(db.Model):
    """Every dial handed to a dialer, by the number's match key, for frequency caps.

    Written in the claim's transaction (so a dial in flight already counts), removed
    when the dialer refused the batch; `region` is the called number's rule region.
    Rows arrive in time order, so old ones are pruned from the lowest ids (no index
    on the time: every dial pays for each index).
    """

    __tablename__ = "dial_log"
    __table_args__ = (Index("ix_dial_log_key_time", "match_key", "dialed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_key: Mapped[str] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(8))
    campaign_id: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(Integer)
    dialed_at: Mapped[datetime] = mapped_column(DateTime)
