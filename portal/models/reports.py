from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class AttemptCount(db.Model):
    """Dials per campaign, quarter hour, attempt number, result and upload.

    Kept in step with contact_attempts as results are applied (and rebuilt from that
    history by portal/services/reports.py), so a campaign report of millions of
    attempts sums a few thousand rows instead of scanning them all.
    """

    __tablename__ = "attempt_counts"

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    attempt_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_result: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 0 for contacts added one at a time
    upload_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dials: Mapped[int] = mapped_column(Integer, default=0)
