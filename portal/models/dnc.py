from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models._base import utcnow


class DncEntry(db.Model):
    __tablename__ = "dnc_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    primary_number: Mapped[str] = mapped_column(String(32))
    match_key: Mapped[str] = mapped_column(String(32), unique=True)
    update_by_id: Mapped[int | None] = mapped_column(Integer)
    upload_id: Mapped[int | None] = mapped_column(Integer)
    # beyond ECM: a temporary entry stops blocking at expires_at by itself
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    date_created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow
    )
