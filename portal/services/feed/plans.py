"""A strategy read once per tick: attempts by id and number, rules by result code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.extensions import db
from portal.models import CallStrategy, StrategyAttempt
from portal.services.strategies import RetryRule, retry_rules


@dataclass(frozen=True)
class AttemptPlan:
    """One strategy attempt: which phone field, which channel, and its retry rules."""

    id: int
    number: int
    phone: str
    channel: int
    rules: dict[int, RetryRule]


@dataclass
class StrategyPlan:
    """Everything the feed needs from a strategy without touching the ORM again."""

    id: int
    max_attempts: int
    by_id: dict[int, AttemptPlan] = field(default_factory=dict)
    by_number: dict[int, AttemptPlan] = field(default_factory=dict)

    @property
    def first(self) -> AttemptPlan | None:
        return self.by_number[min(self.by_number)] if self.by_number else None

    def attempt_for(
        self, attempt_id: int | None, attempt_number: int | None
    ) -> AttemptPlan | None:
        """The contact's current attempt: by id, else by number, else the first one."""
        if attempt_id is not None and attempt_id in self.by_id:
            return self.by_id[attempt_id]
        if attempt_number is not None and attempt_number in self.by_number:
            return self.by_number[attempt_number]
        return self.first


def _attempt_plan(attempt: StrategyAttempt) -> AttemptPlan:
    return AttemptPlan(
        id=attempt.id,
        number=attempt.attempt_number,
        phone=(attempt.phone or "1").strip() or "1",
        channel=attempt.channel or 0,
        rules={rule.call_result: rule for rule in retry_rules(attempt)},
    )


def load_plans(strategy_ids: Iterable[int]) -> dict[int, StrategyPlan]:
    """Read the strategies and their attempts in two queries."""
    ids = sorted({sid for sid in strategy_ids if sid is not None})
    if not ids:
        return {}
    plans = {
        s.id: StrategyPlan(id=s.id, max_attempts=s.max_attempts or 1)
        for s in db.session.scalars(
            select(CallStrategy).where(CallStrategy.id.in_(ids))
        )
    }
    attempts = db.session.scalars(
        select(StrategyAttempt)
        .where(StrategyAttempt.strategy_id.in_(ids))
        .order_by(StrategyAttempt.strategy_id, StrategyAttempt.attempt_number)
    )
    for attempt in attempts:
        plan = plans.get(attempt.strategy_id)
        if plan is None:
            continue
        item = _attempt_plan(attempt)
        plan.by_id[item.id] = item
        plan.by_number.setdefault(item.number, item)
    return plans


def load_plan(strategy_id: int) -> StrategyPlan | None:
    return load_plans([strategy_id]).get(strategy_id)


def number_for(phones: dict[str, str | None], attempt: AttemptPlan | None) -> str:
    """The number an attempt dials: its phone field, falling back to phone1 if empty."""
    field_name = f"phone{attempt.phone}" if attempt else "phone1"
    return (phones.get(field_name) or phones.get("phone1") or "").strip()
