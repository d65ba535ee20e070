from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models._base import utcnow


class PreferenceSettings(db.Model):
    __tablename__ = "preference_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_batch_size: Mapped[int] = mapped_column(Integer, default=10)
    ivr_batch_size: Mapped[int] = mapped_column(Integer, default=10)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    file_archive_path: Mapped[str | None] = mapped_column(String(1024))
    username: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    # system calling policy (issue #12): frequency cap, minimum gap, restricted dates
    frequency_cap_count: Mapped[int | None] = mapped_column(Integer)
    frequency_cap_hours: Mapped[int | None] = mapped_column(Integer)
    min_gap_minutes: Mapped[int | None] = mapped_column(Integer)
    restricted_dates: Mapped[list | None] = mapped_column(JSON)
    holiday_calendars: Mapped[list | None] = mapped_column(JSON)


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict | None] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)


class FeedHeartbeat(db.Model):
    """Last time each periodic activity ran, for the dashboard and /healthz."""

    __tablename__ = "feed_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    detail: Mapped[dict | None] = mapped_column(JSON)


class DialerWatermark(db.Model):
    """How far a result reader has read a dialer's own table (Dialer_Detail...).

    The mark moves in the same transaction that writes the rows it covers into
    the call-result inbox, so a restart neither loses nor repeats a result.
    """

    __tablename__ = "dialer_watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    db_datetime: Mapped[datetime | None] = mapped_column(DateTime)
    recovery_key: Mapped[float | None] = mapped_column(Float(53))
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
