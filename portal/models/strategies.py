from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.extensions import db
from portal.models._base import name_key


class CallStrategy(db.Model):
    __tablename__ = "call_strategies"
    __table_args__ = (UniqueConstraint("name_key", name="uq_call_strategies_name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    name_key: Mapped[str] = mapped_column(String(255))
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)

    attempts = relationship(
        "StrategyAttempt",
        order_by="StrategyAttempt.attempt_number",
        back_populates="strategy",
        cascade="all, delete-orphan",
    )

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


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
