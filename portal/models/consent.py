"""Consent and suppression: named DNC lists, opt-outs, result effects, lockouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models._base import utcnow


class DncList(db.Model):
    """A named do-not-call list beside the ECM default one: global or one campaign's,
    for voice, SMS or both channels."""

    __tablename__ = "dnc_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8), default="both")
    created_by: Mapped[int | None] = mapped_column(Integer)
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )


class DncListEntry(db.Model):
    """One number on a named list; it blocks until `expires_at` (never when null)."""

    __tablename__ = "dnc_list_entries"
    __table_args__ = (
        UniqueConstraint("list_id", "match_key", name="uq_dnc_list_entries_key"),
        Index("ix_dnc_list_entries_match_key", "match_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("dnc_lists.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(255))
    primary_number: Mapped[str] = mapped_column(String(32))
    match_key: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    update_by_id: Mapped[int | None] = mapped_column(Integer)
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )


class OptOut(db.Model):
    """A revocation of consent: it suppresses the number on every campaign."""

    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    match_key: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="both")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    effective_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str | None] = mapped_column(String(64))
    contacts_closed: Mapped[int] = mapped_column(Integer, default=0)
    recorded_by: Mapped[int | None] = mapped_column(Integer)


class ResultEffect(db.Model):
    """What a call result does beyond the retry map: close, skip the number, list it."""

    __tablename__ = "result_effects"

    call_result: Mapped[int] = mapped_column(Integer, primary_key=True)
    effect: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[int | None] = mapped_column(
        ForeignKey("dnc_lists.id", ondelete="SET NULL")
    )
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )


class ContactNumberBlock(db.Model):
    """A number a result proved wrong for this contact: the feed tries the next."""

    __tablename__ = "contact_number_blocks"
    __table_args__ = (
        UniqueConstraint("contact_id", "match_key", name="uq_contact_number_blocks"),
        Index("ix_contact_number_blocks_key", "match_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE")
    )
    match_key: Mapped[str] = mapped_column(String(32))
    call_result: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NumberLockout(db.Model):
    """After an abandoned call the number is not dialed again until `locked_until`."""

    __tablename__ = "number_lockouts"

    match_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(DateTime, index=True)
    call_result: Mapped[int] = mapped_column(Integer)


class ErasedNumber(db.Model):
    """An erased number's match key, kept only as a keyed hash: still suppressed."""

    __tablename__ = "erased_numbers"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
