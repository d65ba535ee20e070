from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models._base import utcnow


class CiscoCampaign(db.Model):
    """The dialer's campaign list, cached from the last fetchCiscoCampaigns."""

    __tablename__ = "cisco_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    cisco_campaign_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    table_name: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_path: Mapped[str | None] = mapped_column(String(1024))
    campaign_type: Mapped[str] = mapped_column(String(8), default="0")
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    crm_campaign_id: Mapped[str | None] = mapped_column(String(255))
    cisco_campaign_id: Mapped[str | None] = mapped_column(String(64))
    cisco_campaign_name: Mapped[str | None] = mapped_column(String(255))
    strategy_id: Mapped[int] = mapped_column(ForeignKey("call_strategies.id"))
    status: Mapped[int] = mapped_column(Integer, default=1)
    type: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    start_time: Mapped[str] = mapped_column(String(5), default="00:00")
    end_time: Mapped[str] = mapped_column(String(5), default="23:59")
    week_days: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4,5,6")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    dialer_type: Mapped[str | None] = mapped_column(String(20))
    skill_group: Mapped[str | None] = mapped_column(String(255))
    sms_template: Mapped[str | None] = mapped_column(Text)
    respect_contact_time_zone: Mapped[bool] = mapped_column(Boolean, default=False)
    response_timeout: Mapped[int | None] = mapped_column(Integer)
    # abandon-rate guard: percent of live answers; crossing it pauses the campaign
    max_abandon_rate: Mapped[float | None] = mapped_column(Float)
    pause_reason: Mapped[str | None] = mapped_column(String(255))
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )

    strategy = relationship("CallStrategy", lazy="joined")
