from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class CallStrategy(db.Model):
    __tablename__ = "call_strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)

    attempts = relationship(
        "StrategyAttempt",
        order_by="StrategyAttempt.attempt_number",
        back_populates="strategy",
        cascade="all, delete-orphan",
    )


class StrategyAttempt(db.Model):
    """One step of a strategy; retry_map holds its RetryRule rows as JSON."""

    __tablename__ = "strategy_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("call_strategies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(1), default="1")
    channel: Mapped[int] = mapped_column(Integer, default=0)
    attempt_number: Mapped[int] = mapped_column(Integer, default=1)
    retry_map: Mapped[list] = mapped_column(JSON, default=list)

    strategy = relationship("CallStrategy", back_populates="attempts")
