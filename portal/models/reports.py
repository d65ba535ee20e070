from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class AttemptCount(db.Model):
    """Dials per campaign and time bucket, counted three ways (`kind`):

    1 by time: quarter-hour buckets, `dimension` 0, `outcome` 1 for a connect else 0;
    2 by attempt: hour buckets, `dimension` the attempt number, `outcome` the result;
    3 by upload: hour buckets, `dimension` the upload id (0: added singly), `outcome`
      1 for a connect else 0.

    Kept in step with contact_attempts as results are applied (and rebuilt from that
    history by portal/services/reports.py), so a campaign report sums a bounded
    number of rows per day whatever the campaign's size.
    """

    __tablename__ = "attempt_counts"

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[int] = mapped_column(Integer, primary_key=True)
    dials: Mapped[int] = mapped_column(Integer, default=0)
