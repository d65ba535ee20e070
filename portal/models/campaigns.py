from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.extensions import db
from portal.models._base import name_key, utcnow


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
    # the Cisco campaign's own dial attempts per contact (UCCE maxAttempts, UCCX
    # maxDialAttempts): above 1, Cisco retries contacts itself
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("name_key", name="uq_campaigns_name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    name_key: Mapped[str] = mapped_column(String(255))
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
    # calling rules (issue #12): campaign dates in its zone, restricted dates, and a
    # frequency policy that overrides the system one (None: use the preferences')
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    restricted_dates: Mapped[list | None] = mapped_column(JSON)
    holiday_calendars: Mapped[list | None] = mapped_column(JSON)
    frequency_cap_count: Mapped[int | None] = mapped_column(Integer)
    frequency_cap_hours: Mapped[int | None] = mapped_column(Integer)
    min_gap_minutes: Mapped[int | None] = mapped_column(Integer)
    # abandon-rate guard: percent of live answers; crossing it pauses the campaign
    max_abandon_rate: Mapped[float | None] = mapped_column(Float)
    pause_reason: Mapped[str | None] = mapped_column(String(255))
    # which pending contacts are dialed first: due, priority, newest, random
    dial_order: Mapped[str] = mapped_column(
        String(16), default="due", server_default="due"
    )
    # a structured filter (portal/services/contact_filters.py); None keeps every contact
    contact_filter: Mapped[dict | None] = mapped_column(JSON)
    # [{"callResults": [...], "afterDays": D, "maxTimes": K}] (services/recycling.py)
    recycle_rules: Mapped[list | None] = mapped_column(JSON)
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )

    strategy = relationship("CallStrategy", lazy="joined")

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value
